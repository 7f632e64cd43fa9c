-- Put a reply in its box if the box is open for that sender; keep it for bus trace under the
-- message that caused it.
-- KEYS[1] the waiter (holds the responder's name), KEYS[2] the reply list, KEYS[3] the list of
-- replies the cause caused, KEYS[4] the reply's cause (both unused without ARGV[4]).
-- ARGV[1] sender, ARGV[2] reply JSON, ARGV[3] how long the reply stays (ms), ARGV[4] how long
-- the cause keeps it (ms), or '' when it is not kept, ARGV[5] the cause's id.
-- Returns 1, or 0 if no box is open for a reply from the sender.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if ARGV[4] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[2])
  redis.call('PEXPIRE', KEYS[3], ARGV[4])
  redis.call('SET', KEYS[4], ARGV[5], 'PX', ARGV[4])
end
return 1
