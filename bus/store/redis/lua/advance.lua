-- Move the agent's position up to seq, forget its failures, then read on (see step.lua).
-- KEYS[1] the lease, KEYS[2] the agent's positions, KEYS[3] heads, KEYS[4] the stream's log,
--   KEYS[5] the agent's failures, KEYS[6] the epoch, KEYS[7] the stream's signals,
--   KEYS[8] the workers' liveness, KEYS[9] the stream's started runs, KEYS[10] its notes,
--   KEYS[11] its trimmed list, KEYS[12] its indexed list, KEYS[13] the located hash.
-- ARGV[1] stream id, ARGV[2] token, ARGV[3] ttl ms, ARGV[4] upto, ARGV[5] the epoch or '',
--   ARGV[6] seq, ARGV[7] the agent.
local reset = reset_reply(KEYS[6], ARGV[5])
if reset then return reset end
-- A worker whose lease lapsed and was taken over must not commit: the new owner has the order,
-- alive or not.
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[2] then return held_reply(KEYS[1], held) end
local pos = redis.call('HGET', KEYS[2], ARGV[1])
if pos and tonumber(pos) < tonumber(ARGV[6]) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
  redis.call('HDEL', KEYS[5], ARGV[1])
end
return step()
