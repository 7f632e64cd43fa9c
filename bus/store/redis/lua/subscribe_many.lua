-- Make a batch of agents members of channels, each from the channel's head (subscribe.lua
-- for many pairs in one step).
-- KEYS[1] heads, then per pair i: KEYS[2i] the channel's members, KEYS[2i + 1] the agent's
--   positions.
-- ARGV per pair i: ARGV[2i - 1] agent, ARGV[2i] the channel's stream id.
-- Returns one 1 (member now) or 0 (was a member) per pair.
local results = {}
for i = 1, #ARGV / 2 do
  local agent, stream = ARGV[2 * i - 1], ARGV[2 * i]
  if redis.call('SADD', KEYS[2 * i], agent) == 0 then
    results[i] = 0
  else
    redis.call('HSET', KEYS[2 * i + 1], stream, redis.call('HGET', KEYS[1], stream) or '0')
    results[i] = 1
  end
end
return results
