-- Put a reply in its box if the box is open for that sender.
-- KEYS[1] the waiter (holds the responder's name), KEYS[2] the reply list.
-- ARGV[1] sender, ARGV[2] reply JSON, ARGV[3] how long the reply stays (ms).
-- Returns 1, or 0 if no box is open for a reply from the sender.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
