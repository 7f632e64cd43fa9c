-- Put a reply in its box if the box is open for that sender; keep it for bus trace under the
-- message that caused it, dropping the oldest kept beyond a bound.
-- KEYS[1] the waiter (holds the responder's name), KEYS[2] the reply list, KEYS[3] the hash of
-- kept replies by cause (JSON, one per line), KEYS[4] the hash of each kept reply's cause,
-- KEYS[5] the list of "<cause> <reply id>" kept, oldest first.
-- ARGV[1] sender, ARGV[2] reply JSON, ARGV[3] how long the reply stays (ms), ARGV[4] how many
-- replies are kept, or '' when this one is not, ARGV[5] its cause's id, ARGV[6] its id.
-- Returns 1, or 0 if no box is open for a reply from the sender.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
if ARGV[4] == '' then return 1 end
local before = redis.call('HGET', KEYS[3], ARGV[5])
redis.call('HSET', KEYS[3], ARGV[5], before and (before .. '\n' .. ARGV[2]) or ARGV[2])
redis.call('HSET', KEYS[4], ARGV[6], ARGV[5])
local over = redis.call('RPUSH', KEYS[5], ARGV[5] .. ' ' .. ARGV[6]) - tonumber(ARGV[4])
for _ = 1, over do
  local oldest = redis.call('LPOP', KEYS[5])
  local space = string.find(oldest, ' ', 1, true)
  redis.call('HDEL', KEYS[3], string.sub(oldest, 1, space - 1))
  redis.call('HDEL', KEYS[4], string.sub(oldest, space + 1))
end
return 1
