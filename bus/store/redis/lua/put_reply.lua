-- Put a reply in its box if the box is open for that sender, the guards deciding in the same
-- step (guards.lua is put before this; no recipient's pending count: a reply is in no queue).
-- KEYS[1] the waiter (holds the responder's name), KEYS[2] the reply list, KEYS[3] the
--   guards' circuits, KEYS[4] their spend, KEYS[5] agents' own limits.
-- ARGV[1] sender, ARGV[2] reply JSON, ARGV[3] how long the reply stays (ms), ARGV[4] to
--   ARGV[17] the guards' checks (see guards.lua; ARGV[4] '': none).
-- Returns 0 if no box is open for a reply from the sender, else 1, or 2 when this reply was
-- the trial that closed its pair's circuit. A refusal ('BUSGUARD ...', an error reply) is
-- put in the box instead of the reply, so the waiter wakes to it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
guard_layout(3, 2)
local guarded = guard_checks()
local put = ARGV[2]
if guarded.refusal then put = guarded.refusal end
redis.call('RPUSH', KEYS[2], put)
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if guarded.refusal then return redis.error_reply(guarded.refusal) end
if guarded.closed == 1 then return 2 end
return 1
