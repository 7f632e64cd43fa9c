-- Forget an agent: every membership, position, lease, failure and coalescing signal it has,
-- and its registration, in one step.
-- KEYS[1] agents, KEYS[2] the agent's positions, KEYS[3] its failures, then per stream i
--   it reads: KEYS[3 + 3i - 2] the channel's members (any key for its inbox),
--   KEYS[3 + 3i - 1] its lease on the stream, KEYS[3 + 3i] the stream's signals.
-- ARGV[1] agent, ARGV[2i] stream i's id, ARGV[2i + 1] its channel ('' for the inbox): what
--   the caller believes the agent's streams are.
-- Returns {1, channel...}: the channels it left; {0}: it was not registered; {-1} (nothing
-- done): its streams differ from ARGV, the caller reads them again and retries.
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 0 then return {0} end
local count = (#ARGV - 1) / 2
if redis.call('HLEN', KEYS[2]) ~= count then return {-1} end
for i = 1, count do
  if redis.call('HEXISTS', KEYS[2], ARGV[2 * i]) == 0 then return {-1} end
end
local left = {1}
for i = 1, count do
  local channel = ARGV[2 * i + 1]
  if channel ~= '' then
    redis.call('SREM', KEYS[3 + 3 * i - 2], ARGV[1])
    table.insert(left, channel)
  end
  redis.call('DEL', KEYS[3 + 3 * i - 1])
  redis.call('HDEL', KEYS[3 + 3 * i], ARGV[1])
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', KEYS[1], ARGV[1])
return left
