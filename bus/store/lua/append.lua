-- Append a message to a stream, trim the log to its retention, name the recipients.
-- KEYS[1] heads, KEYS[2] the stream's log, KEYS[3] recipients: the channel's members, or the
--   agents set for an inbox.
-- ARGV[1] stream id, ARGV[2] message JSON (stored as given), ARGV[3] now ms,
--   ARGV[4] max messages, ARGV[5] max age ms or '', ARGV[6] the inbox's owner or '' (channel).
-- Returns {seq, recipient...}.
local seq = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local n = redis.call('RPUSH', KEYS[2], ARGV[3] .. ':' .. ARGV[2])
local max = tonumber(ARGV[4])
if n > max then redis.call('LTRIM', KEYS[2], n - max, -1) end
if ARGV[5] ~= '' then
  local cutoff = tonumber(ARGV[3]) - tonumber(ARGV[5])
  while true do
    local first = redis.call('LINDEX', KEYS[2], 0)
    if not first then break end
    local stamp = tonumber(string.sub(first, 1, string.find(first, ':', 1, true) - 1))
    if stamp >= cutoff then break end
    redis.call('LPOP', KEYS[2])
  end
end
if ARGV[6] == '' then
  local out = redis.call('SMEMBERS', KEYS[3])
  table.insert(out, 1, seq)
  return out
end
if redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 1 then return {seq, ARGV[6]} end
return {seq}
