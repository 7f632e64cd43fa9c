-- Push one message onto each of many kombu queues (bus.fanout): one command instead of one per
-- queue, so the client packs one request and reads one reply.
-- KEYS[i] the i-th queue's list (a kombu queue of priority 0 is the list named as the queue).
-- ARGV[1] every message (kombu's JSON), one after another; ARGV[1 + i] the length of the
--   message for KEYS[i]. (One long argument rather than one per message: redis-py packs many
--   mid-sized arguments by repeated concatenation, which was most of the publish's time.)
-- Returns how many were pushed.
local all, offset = ARGV[1], 1
for i = 1, #KEYS do
  local length = tonumber(ARGV[1 + i])
  redis.call('LPUSH', KEYS[i], string.sub(all, offset, offset + length - 1))
  offset = offset + length
end
return #KEYS
