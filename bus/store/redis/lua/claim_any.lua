-- Hand the agent the pending message appended first over every stream it reads.
-- KEYS[1] the agent's positions, KEYS[2] heads, KEYS[2 + i] the log of stream i,
--   KEYS[2 + n + i] the agent's lease on stream i, KEYS[2 + 2n + i] the signals of stream i,
--   KEYS[3 + 3n] the receipt consumers, the last KEYS the epoch.
-- A stream a reader holds under a lease (take.lua, begin.lua) is passed over; on a stream with
-- nothing pending the agent's signal is cleared (append.lua).
-- ARGV[1] the epoch or '', ARGV[2] the agent, ARGV[2 + i] stream i: what the caller believes
--   the agent reads.
-- Returns {1, stream, seq, entry, skipped}; false if nothing is pending; {0, stream...} (every stream
-- the agent reads) if ARGV is not exactly that set: the caller retries with it; {2, stream, seq,
-- entry, skipped} (nothing moved) if the entry's sender consumes pushed receipts
-- (receipt_wanted.lua): the caller takes it with its receipt (take.lua).
local reset = reset_reply(KEYS[#KEYS], ARGV[1])
if reset then return reset end
local streams = {}
for i = 3, #ARGV do streams[i - 2] = ARGV[i] end
local n = #streams
local positions = {}
for i = 1, n do
  positions[i] = redis.call('HGET', KEYS[1], streams[i])
  if not positions[i] then n = -1; break end
end
if n ~= redis.call('HLEN', KEYS[1]) then
  local known = redis.call('HKEYS', KEYS[1])
  table.insert(known, 1, 0)
  return known
end
local best, best_stamp, best_seq, best_entry
for i = 1, n do
  if redis.call('EXISTS', KEYS[2 + n + i]) == 0 then
    local head = tonumber(redis.call('HGET', KEYS[2], streams[i]) or '0')
    local entry, seq = next_after(KEYS[2 + i], head, tonumber(positions[i]))
    if not entry then redis.call('HDEL', KEYS[2 + 2 * n + i], ARGV[2]) end
    if entry then
      local stamp = stamp_of(entry)
      if not best or stamp < best_stamp or (stamp == best_stamp and streams[i] < streams[best]) then
        best, best_stamp, best_seq, best_entry = i, stamp, seq, entry
      end
    end
  end
end
if not best then return false end
local skipped = best_seq - tonumber(positions[best]) - 1
if receipt_wanted(KEYS[#KEYS - 1], best_entry, ARGV[2]) then
  return {2, streams[best], best_seq, best_entry, skipped}
end
redis.call('HSET', KEYS[1], streams[best], best_seq)
return {1, streams[best], best_seq, best_entry, skipped}
