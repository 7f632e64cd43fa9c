-- Forget an agent: every membership, position, lease, failure, coalescing signal and started
-- run (receipts) it has, and its registration, in one step. Receipt notes stay: they are of
-- messages, bounded by the message index, and say what became of them.
-- KEYS[1] agents, KEYS[2] the agent's positions, KEYS[3] its failures, then per stream i
--   it reads: KEYS[3 + 4i - 3] the channel's members (any key for its inbox),
--   KEYS[3 + 4i - 2] its lease on the stream, KEYS[3 + 4i - 1] the stream's signals,
--   KEYS[3 + 4i] the stream's started runs.
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
    redis.call('SREM', KEYS[3 + 4 * i - 3], ARGV[1])
    table.insert(left, channel)
  end
  redis.call('DEL', KEYS[3 + 4 * i - 2])
  redis.call('HDEL', KEYS[3 + 4 * i - 1], ARGV[1])
  redis.call('HDEL', KEYS[3 + 4 * i], ARGV[1])
end
redis.call('DEL', KEYS[2], KEYS[3])
redis.call('SREM', KEYS[1], ARGV[1])
return left
