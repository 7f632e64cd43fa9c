-- Shared by advance (the loader puts it, after log_trim, before it): pushed receipts (issue 17).
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
  redis.call('HINCRBY', headskey, '', 1)  -- the heads' total (guards.lua, guard_bound)
  local n = redis.call('RPUSH', logkey, now .. ':' .. body)
  trim_log(logkey, n, r.max, r.max_age, now)
  redis.call('RPUSH', indexedkey, id .. ' ')
  redis.call('HSET', locatedkey, id, inbox .. ' ' .. seq .. '  ' .. now .. ' ' .. by)
  drop_trimmed(logkey, indexedkey, trimmedkey, locatedkey, causedkey, seq, r.keep)
  local wake = 1
  if r.coalesce == 'coalesce' and redis.call('HSETNX', signalskey, sender, seq) == 0 then
    wake = 0
  end
  return seq, wake
end
