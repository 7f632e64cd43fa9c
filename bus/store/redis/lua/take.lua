-- Commit what a pull reader handed over, hand it the next message of a stream and hold the
-- ones after it.
-- KEYS[1] the lease, KEYS[2] the agent's positions, KEYS[3] heads, KEYS[4] the stream's log,
--   KEYS[5] the epoch, KEYS[6] the stream's signals, KEYS[7] the workers' liveness, KEYS[8]
--   the receipt consumers; with a receipt: KEYS[9] the sender's inbox log, KEYS[10] its
--   indexed list, KEYS[11] its trimmed list, KEYS[12] located, KEYS[13] caused, KEYS[14] the
--   inbox's signals.
-- ARGV[1] stream id, ARGV[2] token, ARGV[3] ttl ms, ARGV[4] commit (a seq, 0: none),
--   ARGV[5] limit, ARGV[6] the epoch or '', ARGV[7] the agent; with a receipt: ARGV[8] the
--   seq it is for, ARGV[9] the sender, ARGV[10] its inbox's stream id, ARGV[11] the receipt's
--   sender, ARGV[12] its id, ARGV[13] its JSON or '' (push none), ARGV[14] now ms, ARGV[15]
--   the inbox's max messages, ARGV[16] its max age ms or '', ARGV[17] how many trimmed ids
--   the index keeps, ARGV[18] 'coalesce' or ''.
-- Pushed receipts (issue 17): handing over a message whose sender consumes receipts
-- (receipt_wanted.lua) appends the receipt given for its seq (push_receipt.lua); given none,
-- nothing more moves and the reply is {2, seq, skipped, entry}: call again with it. A batch
-- holds no message after the next whose sender consumes receipts.
-- Finding nothing pending (limit > 0) clears the agent's signal (append.lua).
-- The position moves up to commit (never back), then past the next message, which is handed
-- over as claim.lua does; up to limit - 1 messages after it are held under the lease: they are
-- not the position until a later call commits them, so a reader that dies holding them leaves
-- them to the next one once the lease lapses. With nothing held the lease is given up.
-- A lease whose worker is no longer alive is free (holder.lua).
-- Returns {0, ...} if another token holds the lease (nothing moved); {1} if nothing is pending or
-- limit is 0; {1, first seq, skipped, receipt seq (0: none), wake, ahead seq, ahead entry,
-- entry...} otherwise: ahead (0, '': none) is the message after the batch if its sender
-- consumes receipts, which the reader may draft for the take that hands it over.
local reset = reset_reply(KEYS[5], ARGV[6])
if reset then return reset end
local blocked, held = lease_holder(KEYS[1], KEYS[7], ARGV[2])
if blocked then return held_reply(KEYS[1], held) end
local pos = redis.call('HGET', KEYS[2], ARGV[1])
if not pos then
  if held then redis.call('DEL', KEYS[1]) end
  return {1}
end
pos = tonumber(pos)
local commit = tonumber(ARGV[4])
if commit > pos then
  redis.call('HSET', KEYS[2], ARGV[1], commit)
  pos = commit
end
local limit = tonumber(ARGV[5])
local head = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
local first_entry, first = nil, nil
if limit > 0 then
  first_entry, first = next_after(KEYS[4], head, pos)
  if not first_entry then redis.call('HDEL', KEYS[6], ARGV[7]) end
end
if not first_entry then
  if held then redis.call('DEL', KEYS[1]) end
  return {1}
end
local receipt_seq, wake = 0, 0
if #ARGV >= 8 and tonumber(ARGV[8]) == first then
  -- Drafted for this message, which wanted it (no second decode): the flag is read again.
  local consumer = redis.call('HGET', KEYS[8], ARGV[9])
  if consumer and ARGV[13] ~= '' then
    local r = {inbox = ARGV[10], sender = ARGV[9], by = ARGV[11], id = ARGV[12], body = ARGV[13],
      now = ARGV[14], max = tonumber(ARGV[15]), max_age = ARGV[16], keep = ARGV[17],
      coalesce = consumer == 'hosted' and 'coalesce' or ARGV[18]}
    receipt_seq, wake = push_receipt(KEYS[3], KEYS[9], KEYS[10], KEYS[11], KEYS[12], KEYS[13],
      KEYS[14], r)
  end
elseif receipt_wanted(KEYS[8], first_entry, ARGV[7]) then
  return {2, first, first - pos - 1, first_entry}
end
redis.call('HSET', KEYS[2], ARGV[1], first)
local found = {first_entry}
if limit > 1 and first < head then
  local n = redis.call('LLEN', KEYS[4])
  local start = first - (head - n + 1)
  found = redis.call('LRANGE', KEYS[4], start, start + limit - 1)
  for i = 2, #found do
    if receipt_wanted(KEYS[8], found[i], ARGV[7]) then
      for j = #found, i, -1 do found[j] = nil end
      break
    end
  end
end
if #found > 1 then
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
elseif held then
  redis.call('DEL', KEYS[1])
end
local ahead_seq, ahead = 0, ''
local last = first + #found - 1
if last < head and redis.call('EXISTS', KEYS[8]) == 1 then
  local after = redis.call('LINDEX', KEYS[4], last + 1 - (head - redis.call('LLEN', KEYS[4]) + 1))
  if after and receipt_wanted(KEYS[8], after, ARGV[7]) then ahead_seq, ahead = last + 1, after end
end
local reply = {1, first, first - pos - 1, receipt_seq, wake, ahead_seq, ahead}
for i = 1, #found do reply[7 + i] = found[i] end
return reply
