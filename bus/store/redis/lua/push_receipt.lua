-- Shared by advance (the loader puts it before it): pushed receipts (issue 17).
-- Append a receipt message to its sender's inbox as append.lua appends a direct message (the
-- log trimmed to its retention, the message index kept with it), and set its wake-up signal
-- with coalesced deliveries. K: heads, the inbox's log, indexed and trimmed lists, located,
-- caused, the inbox's signals. Returns the receipt's seq and 1 if its delivery is to be sent.
local function push_receipt(K, inbox, sender, by, id, body, now, max, max_age, keep, coalesce)
  local seq = redis.call('HINCRBY', K.heads, inbox, 1)
  local n = redis.call('RPUSH', K.log, now .. ':' .. body)
  if n > max then redis.call('LTRIM', K.log, n - max, -1) end
  if max_age ~= '' then
    local cutoff = tonumber(now) - tonumber(max_age)
    while true do
      local first = redis.call('LINDEX', K.log, 0)
      if not first then break end
      if tonumber(string.sub(first, 1, string.find(first, ':', 1, true) - 1)) >= cutoff then
        break
      end
      redis.call('LPOP', K.log)
    end
  end
  redis.call('RPUSH', K.indexed, id .. ' ')
  redis.call('HSET', K.located, id, inbox .. ' ' .. seq .. '  ' .. now .. ' ' .. by)
  local retained = redis.call('LLEN', K.log)
  local dropped = redis.call('LLEN', K.indexed) - retained
  for i = 1, dropped do
    local gone = redis.call('LPOP', K.indexed)
    local space = string.find(gone, ' ', 1, true)
    local gone_id, cause = string.sub(gone, 1, space - 1), string.sub(gone, space + 1)
    if gone_id ~= '' then
      if cause ~= '' then redis.call('ZREM', K.caused, cause .. ' ' .. gone_id) end
      redis.call('RPUSH', K.trimmed, (seq - retained - dropped + i) .. ' ' .. gone_id)
    end
  end
  local forget = redis.call('LLEN', K.trimmed) - tonumber(keep)
  for _ = 1, forget do
    local old = redis.call('LPOP', K.trimmed)
    redis.call('HDEL', K.located, string.sub(old, string.find(old, ' ', 1, true) + 1))
  end
  local wake = 1
  if coalesce == 'coalesce' and redis.call('HSETNX', K.signals, sender, seq) == 0 then
    wake = 0
  end
  return seq, wake
end
