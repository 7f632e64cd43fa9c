-- Hand the agent the pending message appended first over every stream it reads.
-- KEYS[1] the agent's positions, KEYS[2] heads, KEYS[2 + i] the log of stream i.
-- ARGV[i] stream i: what the caller believes the agent reads.
-- Returns {1, stream, seq, entry}; false if nothing is pending; {0, stream...} (every stream
-- the agent reads) if ARGV is not exactly that set: the caller retries with it.
local n = #ARGV
local positions = {}
for i = 1, n do
  positions[i] = redis.call('HGET', KEYS[1], ARGV[i])
  if not positions[i] then n = -1; break end
end
if n ~= redis.call('HLEN', KEYS[1]) then
  local streams = redis.call('HKEYS', KEYS[1])
  table.insert(streams, 1, 0)
  return streams
end
local best, best_stamp, best_seq, best_entry
for i = 1, n do
  local head = tonumber(redis.call('HGET', KEYS[2], ARGV[i]) or '0')
  local entry, seq = next_after(KEYS[2 + i], head, tonumber(positions[i]))
  if entry then
    local stamp = stamp_of(entry)
    if not best or stamp < best_stamp or (stamp == best_stamp and ARGV[i] < ARGV[best]) then
      best, best_stamp, best_seq, best_entry = i, stamp, seq, entry
    end
  end
end
if not best then return false end
redis.call('HSET', KEYS[1], ARGV[best], best_seq)
return {1, ARGV[best], best_seq, best_entry}
