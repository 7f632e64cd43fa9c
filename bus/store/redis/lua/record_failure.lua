-- Count a failed attempt at a stream's next message.
-- KEYS[1] the agent's failures. ARGV[1] stream id, ARGV[2] seq, ARGV[3] not before ms.
-- Returns the number of attempts at seq so far.
local attempts = 1
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then
  local seq, count = string.match(previous, '^(%d+):(%d+):')
  if seq == ARGV[2] then attempts = tonumber(count) + 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. attempts .. ':' .. ARGV[3])
return attempts
