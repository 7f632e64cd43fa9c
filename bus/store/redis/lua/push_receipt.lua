-- Shared by advance (the loader puts it before it): pushed receipts (issue 17).
-- Append a receipt message to its sender's inbox as append.lua appends a direct message (the
-- log trimmed to its retention, the message index kept with it), and set its wake-up signal
-- with coalesced deliveries. The keys: heads, the inbox's log, indexed and trimmed lists,
-- located, caused, the inbox's signals; r: the receipt (inbox stream id, sender, by, id, body,
-- now ms, max messages, max age ms or '', ids kept, coalesce). Returns the receipt's seq and 1
-- if its delivery is to be sent.
local function push_receipt(headskey, logkey, indexedkey, trimmedkey, locatedkey, causedkey,
    signalskey, r)
  local inbox, sender, by, id, body, now = r.inbox, r.sender, r.by, r.id, r.body, r.now
  local seq = redis.call('HINCRBY', headskey, inbox, 1)
  local n = redis.call('RPUSH', logkey, now .. ':' .. body)
  if n > r.max then redis.call('LTRIM', logkey, n - r.max, -1) end
  if r.max_age ~= '' then
    local cutoff = tonumber(now) - tonumber(r.max_age)
    while true do
      local first = redis.call('LINDEX', logkey, 0)
      if not first then break end
      if tonumber(string.sub(first, 1, string.find(first, ':', 1, true) - 1)) >= cutoff then
        break
      end
      redis.call('LPOP', logkey)
    end
  end
  redis.call('RPUSH', indexedkey, id .. ' ')
  redis.call('HSET', locatedkey, id, inbox .. ' ' .. seq .. '  ' .. now .. ' ' .. by)
  local retained = redis.call('LLEN', logkey)
  local dropped = redis.call('LLEN', indexedkey) - retained
  for i = 1, dropped do
    local gone = redis.call('LPOP', indexedkey)
    local space = string.find(gone, ' ', 1, true)
    local gone_id, cause = string.sub(gone, 1, space - 1), string.sub(gone, space + 1)
    if gone_id ~= '' then
      if cause ~= '' then redis.call('ZREM', causedkey, cause .. ' ' .. gone_id) end
      redis.call('RPUSH', trimmedkey, (seq - retained - dropped + i) .. ' ' .. gone_id)
    end
  end
  local forget = redis.call('LLEN', trimmedkey) - tonumber(r.keep)
  for _ = 1, forget do
    local old = redis.call('LPOP', trimmedkey)
    redis.call('HDEL', locatedkey, string.sub(old, string.find(old, ' ', 1, true) + 1))
  end
  local wake = 1
  if r.coalesce == 'coalesce' and redis.call('HSETNX', signalskey, sender, seq) == 0 then
    wake = 0
  end
  return seq, wake
end
