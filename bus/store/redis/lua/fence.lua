-- Fence a stream whose head is below a seq a client saw acknowledged: a failover promoted a
-- replica that lacks those appends. The lost seqs are burnt (each holds a mark that readers
-- skip loudly, so the log stays one entry per seq) and recorded, and the head moves past
-- them, so no other message is ever given one of them.
-- KEYS[1] heads, KEYS[2] the stream's log, KEYS[3] its indexed list, KEYS[4] fences,
--   KEYS[5] the epoch.
-- ARGV[1] stream id, ARGV[2] the highest seq seen acknowledged, ARGV[3] now ms, ARGV[4] who
--   noticed, ARGV[5] the most marks to keep (older lost seqs are dropped, as retention would),
--   ARGV[6] the epoch or ''.
-- Returns {first, last} lost, or nil: nothing to fence (the head is not below ARGV[2]).
-- Error reply: BUSRESET (see epoch.lua; a store that lost everything is a reset, not a fence).
local reset = reset_reply(KEYS[5], ARGV[6])
if reset then return reset end
local head = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local last = tonumber(ARGV[2])
if head >= last then return nil end
local first, from = head + 1, head + 1
if last - head > tonumber(ARGV[5]) then
  redis.call('DEL', KEYS[2], KEYS[3])
  from = last - tonumber(ARGV[5]) + 1
end
local mark = ARGV[3] .. ':BUSLOST ' .. first .. '-' .. last
for _ = from, last do
  redis.call('RPUSH', KEYS[2], mark)
  redis.call('RPUSH', KEYS[3], ' ')
end
redis.call('HSET', KEYS[1], ARGV[1], last)
redis.call('HINCRBY', KEYS[1], '', last - head)  -- the heads' total (guards.lua, guard_bound)
redis.call('RPUSH', KEYS[4], cjson.encode({
  stream = ARGV[1], first = first, last = last, at = tonumber(ARGV[3]), by = ARGV[4]}))
redis.call('LTRIM', KEYS[4], -1000, -1)
return {first, last}
