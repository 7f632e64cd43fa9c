-- Keep a receipt note: what went otherwise for an agent with a message (or a range of them);
-- with a receipt (a request's 'replied' note), push it to its sender as advance.lua does.
-- KEYS[1] the stream's notes, KEYS[2] its trimmed list, KEYS[3] its indexed list, KEYS[4]
--   heads; with a receipt: KEYS[5] the receipt consumers, KEYS[6] the sender's inbox log,
--   KEYS[7] its indexed list, KEYS[8] its trimmed list, KEYS[9] located, KEYS[10] caused,
--   KEYS[11] the inbox's signals.
-- ARGV[1] stream id, ARGV[2] the field ('<first>-<last>\n<agent>'), ARGV[3] the note's JSON;
--   with a receipt: ARGV[4] the sender, ARGV[5] its inbox's stream id, ARGV[6] the receipt's
--   sender, ARGV[7] its id, ARGV[8] its JSON, ARGV[9] now ms, ARGV[10] the inbox's max
--   messages, ARGV[11] its max age ms or '', ARGV[12] how many trimmed ids the index keeps,
--   ARGV[13] 'coalesce' or ''.
-- Returns {receipt seq (0: none pushed, the sender consumes none), wake}.
trim_notes(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
if #KEYS < 5 then return {0, 0} end
local consumer = redis.call('HGET', KEYS[5], ARGV[4])
if not consumer or ARGV[8] == '' then return {0, 0} end
local r = {sender = ARGV[4], inbox = ARGV[5], by = ARGV[6], id = ARGV[7], body = ARGV[8],
  now = ARGV[9], max = tonumber(ARGV[10]), max_age = ARGV[11], keep = ARGV[12],
  coalesce = consumer == 'hosted' and 'coalesce' or ARGV[13]}
local seq, wake = push_receipt(KEYS[4], KEYS[6], KEYS[7], KEYS[8], KEYS[9], KEYS[10], KEYS[11], r)
return {seq, wake}
