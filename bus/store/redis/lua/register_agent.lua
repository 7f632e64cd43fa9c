-- Register an agent: its inbox position, and membership of every broadcast channel.
-- KEYS[1] agents, KEYS[2] the agent's positions, KEYS[3] heads, KEYS[4] broadcast channels,
--   KEYS[4 + i] the members of broadcast channel i.
-- ARGV[1] agent, ARGV[2] its inbox's stream id, ARGV[1 + 2i] broadcast channel i,
--   ARGV[2 + 2i] its stream id: what the caller believes the broadcast channels are.
-- Returns 1; 0 if the agent was registered; -1 (nothing done) if the broadcast channels
-- differ from ARGV: the caller reads them again and retries.
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return 0 end
local count = (#ARGV - 2) / 2
if redis.call('SCARD', KEYS[4]) ~= count then return -1 end
for i = 1, count do
  if redis.call('SISMEMBER', KEYS[4], ARGV[1 + 2 * i]) == 0 then return -1 end
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], redis.call('HGET', KEYS[3], ARGV[2]) or '0')
for i = 1, count do
  local stream = ARGV[2 + 2 * i]
  redis.call('SADD', KEYS[4 + i], ARGV[1])
  redis.call('HSET', KEYS[2], stream, redis.call('HGET', KEYS[3], stream) or '0')
end
return 1
