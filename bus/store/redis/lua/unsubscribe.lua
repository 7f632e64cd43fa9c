-- End an agent's membership of a channel and forget its position.
-- KEYS[1] the channel's members, KEYS[2] the agent's positions, KEYS[3] the stream's signals.
-- ARGV[1] agent, ARGV[2] the channel's stream id.
-- Returns 1, or 0 if it was no member.
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('HDEL', KEYS[3], ARGV[1])
return 1
