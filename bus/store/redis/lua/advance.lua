-- Move the agent's position up to seq, forget its failures, then read on (see step.lua); with
-- a receipt, push it to the committed message's sender in the same step (push_receipt.lua).
-- KEYS[1] the lease, KEYS[2] the agent's positions, KEYS[3] heads, KEYS[4] the stream's log,
--   KEYS[5] the agent's failures, KEYS[6] the epoch, KEYS[7] the stream's signals,
--   KEYS[8] the workers' liveness, KEYS[9] the stream's started runs, KEYS[10] its notes,
--   KEYS[11] its trimmed list, KEYS[12] its indexed list, KEYS[13] the located hash; with a
--   receipt: KEYS[14] the receipt consumers, KEYS[15] the sender's inbox log, KEYS[16] its
--   indexed list, KEYS[17] its trimmed list, KEYS[18] located, KEYS[19] caused, KEYS[20] the
--   inbox's signals.
-- ARGV[1] stream id, ARGV[2] token, ARGV[3] ttl ms, ARGV[4] upto, ARGV[5] the epoch or '',
--   ARGV[6] seq; with a receipt: ARGV[7] the sender, ARGV[8] its inbox's stream id, ARGV[9]
--   the receipt's sender, ARGV[10] its id, ARGV[11] its JSON or '' (none held yet),
--   ARGV[12] now ms, ARGV[13] the inbox's max messages, ARGV[14] its max age ms or '',
--   ARGV[15] how many trimmed ids the index keeps, ARGV[16] 'coalesce' or ''; last: the agent.
-- KEYS[14] maps each consuming agent to '1', or 'hosted' (its wake-ups are always coalesced).
-- Returns {pushed, receipt seq, wake, <step.lua's reply>...}: pushed 0 no receipt (none given,
-- the position did not move, the sender consumes none), 1 appended at receipt seq, 2 the
-- sender consumes receipts and ARGV[11] is '' (nothing moved: call again with the receipt).
local reset = reset_reply(KEYS[6], ARGV[5])
if reset then return reset end
local function with(pushed, seq, wake, reply)
  local out = {pushed, seq, wake}
  for i = 1, #reply do out[#out + 1] = reply[i] end
  return out
end
-- A worker whose lease lapsed and was taken over must not commit: the new owner has the order,
-- alive or not.
local held = redis.call('GET', KEYS[1])
if held and held ~= ARGV[2] then return with(0, 0, 0, held_reply(KEYS[1], held)) end
local pos = redis.call('HGET', KEYS[2], ARGV[1])
local pushed, receipt_seq, wake = 0, 0, 0
if pos and tonumber(pos) < tonumber(ARGV[6]) then
  -- Pushed receipts (issue 17): a sender that consumes none costs this one HGET. A hosted
  -- consumer (its run reads until drained) is woken once per burst, as with 'coalesce'.
  local consumer = #KEYS > 13 and redis.call('HGET', KEYS[14], ARGV[7])
  if consumer then
    if ARGV[11] == '' then return {2, 0, 0} end
    local r = {inbox = ARGV[8], sender = ARGV[7], by = ARGV[9], id = ARGV[10], body = ARGV[11],
      now = ARGV[12], max = tonumber(ARGV[13]), max_age = ARGV[14], keep = ARGV[15],
      coalesce = consumer == 'hosted' and 'coalesce' or ARGV[16]}
    pushed = 1
    receipt_seq, wake = push_receipt(KEYS[3], KEYS[15], KEYS[16], KEYS[17], KEYS[18], KEYS[19],
      KEYS[20], r)
  end
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[6])
  redis.call('HDEL', KEYS[5], ARGV[1])
end
return with(pushed, receipt_seq, wake, step())
