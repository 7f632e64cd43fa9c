-- Hand the agent the pending message appended first over every stream it reads.
-- KEYS[1] the agent's positions, KEYS[2] heads, KEYS[2 + i] the log of stream i,
--   KEYS[2 + n + i] the agent's lease on stream i, KEYS[2 + 2n + i] the signals of stream i,
--   KEYS[3 + 3n] the receipt consumers, KEYS[4 + 3n] the epoch; with a receipt:
--   KEYS[5 + 3n] the sender's inbox log, KEYS[6 + 3n] its indexed list, KEYS[7 + 3n] its
--   trimmed list, KEYS[8 + 3n] located, KEYS[9 + 3n] caused, KEYS[10 + 3n] the inbox's signals.
-- A stream a reader holds under a lease (take.lua, begin.lua) is passed over; on a stream with
-- nothing pending the agent's signal is cleared (append.lua).
-- ARGV[1] the epoch or '', ARGV[2] the agent, ARGV[3] n, ARGV[3 + i] stream i: what the caller
--   believes the agent reads; with a receipt: ARGV[4 + n] the stream and ARGV[5 + n] the seq
--   it is for, ARGV[6 + n] the sender, ARGV[7 + n] its inbox's stream id, ARGV[8 + n] the
--   receipt's sender, ARGV[9 + n] its id, ARGV[10 + n] its JSON or '' (push none), ARGV[11 + n]
--   now ms, ARGV[12 + n] the inbox's max messages, ARGV[13 + n] its max age ms or '',
--   ARGV[14 + n] how many trimmed ids the index keeps, ARGV[15 + n] 'coalesce' or ''.
-- Pushed receipts (issue 17), as take.lua: handing over a message whose sender consumes
-- receipts (receipt_wanted.lua) appends the receipt given for it (push_receipt.lua); given
-- none, nothing moves and the reply is {2, stream, seq, entry, skipped}: call again with it.
-- Returns false if nothing is pending; {0, stream...} (every stream the agent reads) if ARGV
-- does not name exactly that set: the caller retries with it; else {1, stream, seq, entry,
-- skipped, receipt seq (0: none), wake, ahead seq, ahead entry}: ahead (0, '': none) is the
-- message after it in its stream if that one's sender consumes receipts, which the reader may
-- draft for the claim that hands it over.
local n = tonumber(ARGV[3])
local reset = reset_reply(KEYS[4 + 3 * n], ARGV[1])
if reset then return reset end
local streams = {}
for i = 1, n do streams[i] = ARGV[3 + i] end
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
local best, best_stamp, best_seq, best_entry, best_head
for i = 1, n do
  if redis.call('EXISTS', KEYS[2 + n + i]) == 0 then
    local head = tonumber(redis.call('HGET', KEYS[2], streams[i]) or '0')
    local entry, seq = next_after(KEYS[2 + i], head, tonumber(positions[i]))
    if not entry then redis.call('HDEL', KEYS[2 + 2 * n + i], ARGV[2]) end
    if entry then
      local stamp = stamp_of(entry)
      if not best or stamp < best_stamp or (stamp == best_stamp and streams[i] < streams[best]) then
        best, best_stamp, best_seq, best_entry, best_head = i, stamp, seq, entry, head
      end
    end
  end
end
if not best then return false end
local stream = streams[best]
local skipped = best_seq - tonumber(positions[best]) - 1
local receipt_seq, wake = 0, 0
if #ARGV > 3 + n and ARGV[4 + n] == stream and tonumber(ARGV[5 + n]) == best_seq then
  -- Drafted for this message, which wanted it (no second decode): the flag is read again.
  local a = 5 + n
  local consumer = redis.call('HGET', KEYS[3 + 3 * n], ARGV[a + 1])
  if consumer and ARGV[a + 5] ~= '' then
    local r = {sender = ARGV[a + 1], inbox = ARGV[a + 2], by = ARGV[a + 3], id = ARGV[a + 4],
      body = ARGV[a + 5], now = ARGV[a + 6], max = tonumber(ARGV[a + 7]), max_age = ARGV[a + 8],
      keep = ARGV[a + 9], coalesce = consumer == 'hosted' and 'coalesce' or ARGV[a + 10]}
    local k = 4 + 3 * n
    receipt_seq, wake = push_receipt(KEYS[2], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3], KEYS[k + 4],
      KEYS[k + 5], KEYS[k + 6], r)
  end
elseif receipt_wanted(KEYS[3 + 3 * n], best_entry, ARGV[2]) then
  return {2, stream, best_seq, best_entry, skipped}
end
redis.call('HSET', KEYS[1], stream, best_seq)
local ahead_seq, ahead = 0, ''
if best_seq < best_head and redis.call('EXISTS', KEYS[3 + 3 * n]) == 1 then
  local oldest = best_head - redis.call('LLEN', KEYS[2 + best]) + 1
  local after = redis.call('LINDEX', KEYS[2 + best], best_seq + 1 - oldest)
  if after and receipt_wanted(KEYS[3 + 3 * n], after, ARGV[2]) then
    ahead_seq, ahead = best_seq + 1, after
  end
end
return {1, stream, best_seq, best_entry, skipped, receipt_seq, wake, ahead_seq, ahead}
