-- Change a channel's spec; a channel becoming broadcast makes every registered agent a member
-- (from the head; those already members keep their position).
-- KEYS[1] channels, KEYS[2] broadcast channels, KEYS[3] agents, KEYS[4] heads,
--   KEYS[5] the channel's members, KEYS[5 + i] the positions of agent i.
-- ARGV[1] name, ARGV[2] the new spec JSON, ARGV[3] the version it replaces, ARGV[4] '1' if
--   broadcast now else '0', ARGV[5] its stream id, ARGV[5 + i] agent i: what the caller
--   believes the registered agents are (broadcast only).
-- Returns 1; 0 if the stored version is not ARGV[3] (changed meanwhile: the caller reads it
-- again); -1 if the agents differ from ARGV (read them again); 'BUSUNKNOWN' error reply.
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if not existing then return redis.error_reply('BUSUNKNOWN ' .. ARGV[1]) end
if tostring(cjson.decode(existing).version or 1) ~= ARGV[3] then return 0 end
local count = #ARGV - 5
if ARGV[4] == '1' then
  if redis.call('SCARD', KEYS[3]) ~= count then return -1 end
  for i = 1, count do
    if redis.call('SISMEMBER', KEYS[3], ARGV[5 + i]) == 0 then return -1 end
  end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[4] == '1' then
  redis.call('SADD', KEYS[2], ARGV[1])
  local head = redis.call('HGET', KEYS[4], ARGV[5]) or '0'
  for i = 1, count do
    if redis.call('SADD', KEYS[5], ARGV[5 + i]) == 1 then
      redis.call('HSET', KEYS[5 + i], ARGV[5], head)
    end
  end
else
  redis.call('SREM', KEYS[2], ARGV[1])
end
return 1
