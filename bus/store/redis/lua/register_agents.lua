-- Register a batch of agents, as register_agent.lua does one: each agent's inbox position,
-- and its membership of every broadcast channel.
-- KEYS[1] agents, KEYS[2] heads, KEYS[3] broadcast channels,
--   KEYS[3 + i] the members of broadcast channel i (i = 1..B),
--   KEYS[3 + B + j] the positions of agent j.
-- ARGV[1] B, ARGV[2i] broadcast channel i, ARGV[2i + 1] its stream id (what the caller
--   believes the broadcast channels are), then per agent j: ARGV[2 + 2B + 2(j - 1)] agent,
--   ARGV[3 + 2B + 2(j - 1)] its inbox's stream id.
-- Returns one 1 (registered now) or 0 (registered already) per agent; -1 (nothing done) if
-- the broadcast channels differ from ARGV: the caller reads them again and retries.
local count = tonumber(ARGV[1])
if redis.call('SCARD', KEYS[3]) ~= count then return -1 end
for i = 1, count do
  if redis.call('SISMEMBER', KEYS[3], ARGV[2 * i]) == 0 then return -1 end
end
local results = {}
local first = 2 + 2 * count
local agents = (#ARGV - 1 - 2 * count) / 2
for j = 1, agents do
  local agent, inbox = ARGV[first + 2 * (j - 1)], ARGV[first + 2 * (j - 1) + 1]
  if redis.call('SADD', KEYS[1], agent) == 0 then
    results[j] = 0
  else
    redis.call('HSET', KEYS[3 + count + j], inbox, redis.call('HGET', KEYS[2], inbox) or '0')
    for i = 1, count do
      local stream = ARGV[2 * i + 1]
      redis.call('SADD', KEYS[3 + i], agent)
      redis.call('HSET', KEYS[3 + count + j], stream, redis.call('HGET', KEYS[2], stream) or '0')
    end
    results[j] = 1
  end
end
return results
