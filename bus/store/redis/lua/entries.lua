-- Retained entries by seq: one per stream given (the causation index's lookups).
-- KEYS[1] heads, KEYS[1 + i] the log of the i-th stream asked.
-- ARGV[2i - 1] the i-th stream's id, ARGV[2i] the seq wanted of it.
-- Returns one entry ("<append ms>:<json>") per stream asked, or false where it is not retained.
local out = {}
for i = 1, #KEYS - 1 do
  local seq = tonumber(ARGV[2 * i])
  local head = tonumber(redis.call('HGET', KEYS[1], ARGV[2 * i - 1]) or '0')
  local n = redis.call('LLEN', KEYS[1 + i])
  local index = seq - (head - n + 1)
  if index >= 0 and index < n then
    out[i] = redis.call('LINDEX', KEYS[1 + i], index)
  else
    out[i] = false
  end
end
return out
