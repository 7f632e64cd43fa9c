-- Read what the store keeps of each member's reading of a stream (receipts; reads only).
-- KEYS[1], KEYS[2], KEYS[3]: the first member's positions, lease on the stream and failures;
--   KEYS[3i - 2], KEYS[3i - 1], KEYS[3i] member i's, likewise.
-- ARGV[1] stream id.
-- Returns {position, lease token, failure} per member, each false when absent.
local out = {}
for i = 1, #KEYS, 3 do
  table.insert(out, redis.call('HGET', KEYS[i], ARGV[1]))
  table.insert(out, redis.call('GET', KEYS[i + 1]))
  table.insert(out, redis.call('HGET', KEYS[i + 2], ARGV[1]))
end
return out
