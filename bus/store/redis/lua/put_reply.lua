-- Put a reply in its box if the box is open for that sender, the guards deciding in the same
-- step (guards.lua is put before this; no recipient's pending count: a reply is in no queue);
-- keep a reply put for bus trace under the message that caused it, dropping the oldest kept
-- beyond a bound.
-- KEYS[1] the waiter (holds the responder's name), KEYS[2] the reply list, KEYS[3] the
--   guards' circuits, KEYS[4] their spend, KEYS[5] agents' own limits, KEYS[6] the hash of
--   kept replies by cause (JSON, one per line), KEYS[7] the hash of each kept reply's cause,
--   KEYS[8] the list of "<cause> <reply id>" kept, oldest first.
-- ARGV[1] sender, ARGV[2] reply JSON, ARGV[3] how long the reply stays (ms), ARGV[4] to
--   ARGV[17] the guards' checks (see guards.lua; ARGV[4] '': none), ARGV[18] how many replies
--   are kept, or '' when this one is not, ARGV[19] its cause's id, ARGV[20] its id.
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
if ARGV[18] ~= '' then
  local before = redis.call('HGET', KEYS[6], ARGV[19])
  redis.call('HSET', KEYS[6], ARGV[19], before and (before .. '\n' .. ARGV[2]) or ARGV[2])
  redis.call('HSET', KEYS[7], ARGV[20], ARGV[19])
  local over = redis.call('RPUSH', KEYS[8], ARGV[19] .. ' ' .. ARGV[20]) - tonumber(ARGV[18])
  for _ = 1, over do
    local oldest = redis.call('LPOP', KEYS[8])
    local space = string.find(oldest, ' ', 1, true)
    redis.call('HDEL', KEYS[6], string.sub(oldest, 1, space - 1))
    redis.call('HDEL', KEYS[7], string.sub(oldest, space + 1))
  end
end
if guarded.closed == 1 then return 2 end
return 1
