-- Shared by append and advance (push_receipt.lua): retention and the message index after an
-- entry was appended (the loader puts it before them).

-- Trim the log (n entries after the append) to max entries and, with a max age (ms, or ''),
-- drop the entries appended before now - max_age.
local function trim_log(logkey, n, max, max_age, now)
  if n > max then redis.call('LTRIM', logkey, n - max, -1) end
  if max_age == '' then return end
  local cutoff = tonumber(now) - tonumber(max_age)
  while true do
    local first = redis.call('LINDEX', logkey, 0)
    if not first then break end
    if tonumber(string.sub(first, 1, string.find(first, ':', 1, true) - 1)) >= cutoff then break end
    redis.call('LPOP', logkey)
  end
end

-- The message index after the trim: whatever it dropped leaves the caused set, and its id goes
-- onto the trimmed list, which keeps the last keep of them (older ids leave located).
local function drop_trimmed(logkey, indexedkey, trimmedkey, locatedkey, causedkey, seq, keep)
  local retained = redis.call('LLEN', logkey)
  local dropped = redis.call('LLEN', indexedkey) - retained
  for i = 1, dropped do
    local gone = redis.call('LPOP', indexedkey)
    local space = string.find(gone, ' ', 1, true)
    local id, cause = string.sub(gone, 1, space - 1), string.sub(gone, space + 1)
    if id ~= '' then
      if cause ~= '' then redis.call('ZREM', causedkey, cause .. ' ' .. id) end
      redis.call('RPUSH', trimmedkey, (seq - retained - dropped + i) .. ' ' .. id)
    end
  end
  local forget = redis.call('LLEN', trimmedkey) - tonumber(keep)
  for _ = 1, forget do
    local old = redis.call('LPOP', trimmedkey)
    redis.call('HDEL', locatedkey, string.sub(old, string.find(old, ' ', 1, true) + 1))
  end
end
