-- Make an agent a member of a channel, from the channel's head.
-- KEYS[1] the channel's members, KEYS[2] the agent's positions, KEYS[3] heads.
-- ARGV[1] agent, ARGV[2] the channel's stream id.
-- Returns 1, or 0 if it was a member.
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], redis.call('HGET', KEYS[3], ARGV[2]) or '0')
return 1
