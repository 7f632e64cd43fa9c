-- Record a channel; a broadcast channel makes every registered agent a member from its head.
-- KEYS[1] channels, KEYS[2] broadcast channels, KEYS[3] agents, KEYS[4] heads,
--   KEYS[5] the channel's members, KEYS[5 + i] the positions of agent i.
-- ARGV[1] name, ARGV[2] spec JSON, ARGV[3] '1' if broadcast else '0', ARGV[4] its stream id,
--   ARGV[4 + i] agent i: what the caller believes the registered agents are (broadcast only).
-- Returns 1; 0 if the same spec exists; the existing spec JSON if another exists; -1
-- (nothing done) if the agents differ from ARGV: the caller reads them again and retries.
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  if existing == ARGV[2] then return 0 end
  return existing
end
local count = #ARGV - 4
if ARGV[3] == '1' then
  if redis.call('SCARD', KEYS[3]) ~= count then return -1 end
  for i = 1, count do
    if redis.call('SISMEMBER', KEYS[3], ARGV[4 + i]) == 0 then return -1 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[2], ARGV[1])
  local head = redis.call('HGET', KEYS[4], ARGV[4]) or '0'
  for i = 1, count do
    redis.call('SADD', KEYS[5], ARGV[4 + i])
    redis.call('HSET', KEYS[5 + i], ARGV[4], head)
  end
end
return 1
