-- Note a skip: retention trimmed first..last of a stream before an agent read them; pushed
-- receipts (issue 17): a skipped receipt per run of a consuming sender, in the same step.
-- KEYS[1] the stream's notes, KEYS[2] its trimmed list, KEYS[3] its indexed list, KEYS[4]
--   heads, KEYS[5] located, KEYS[6] the receipt consumers; per receipt i (0-based) the
--   sender's KEYS[7 + 6i] inbox log, KEYS[8 + 6i] indexed list, KEYS[9 + 6i] trimmed list,
--   KEYS[10 + 6i] located, KEYS[11 + 6i] caused, KEYS[12 + 6i] the inbox's signals.
-- ARGV[1] stream id, ARGV[2] the field ('<first>-<last>\n<agent>'), ARGV[3] the note's JSON,
--   ARGV[4] first, ARGV[5] last, ARGV[6] the agent, ARGV[7] 'receipts' if the caller gives
--   them (maybe none) or ''; per receipt i ARGV[8 + 10i] ... ARGV[17 + 10i]: the sender, its
--   inbox's stream id, the receipt's sender, id, JSON, now ms, the inbox's max messages, max
--   age ms or '', how many trimmed ids the index keeps, 'coalesce' or ''.
-- Given no receipts while some agent consumes them: the skipped messages the index still knows
-- (the trimmed list) are grouped by sender; if any consuming sender (not 'bus', not the agent)
-- has some, nothing is noted and the reply is {1, <sender, first id, first seq, last seq,
-- count>...} in the order of their first messages. Otherwise the skip is noted, the receipts
-- appended (push_receipt.lua), and the reply is {0, <receipt seq, wake>...}.
if ARGV[7] == '' and redis.call('EXISTS', KEYS[6]) == 1 then
  local first, last, agent = tonumber(ARGV[4]), tonumber(ARGV[5]), ARGV[6]
  local runs, order = {}, {}
  for _, item in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
    local space = string.find(item, ' ', 1, true)
    local seq = tonumber(string.sub(item, 1, space - 1))
    if seq >= first and seq <= last then
      local id = string.sub(item, space + 1)
      local located = redis.call('HGET', KEYS[5], id)
      local sender = located and string.match(located, '([^ ]*)$') or ''
      if sender ~= '' and sender ~= agent and sender ~= 'bus'
          and redis.call('HGET', KEYS[6], sender) then
        local run = runs[sender]
        if run then
          run[4], run[5] = seq, run[5] + 1
        else
          runs[sender] = {sender, id, seq, seq, 1}
          order[#order + 1] = sender
        end
      end
    end
  end
  if #order > 0 then
    local reply = {1}
    for _, sender in ipairs(order) do
      for _, value in ipairs(runs[sender]) do reply[#reply + 1] = value end
    end
    return reply
  end
end
trim_notes(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
local reply = {0}
for i = 0, (#ARGV - 7) / 10 - 1 do
  local a, k = 8 + 10 * i, 7 + 6 * i
  local consumer = redis.call('HGET', KEYS[6], ARGV[a])
  local seq, wake = 0, 0
  if consumer then
    local r = {inbox = ARGV[a + 1], sender = ARGV[a], by = ARGV[a + 2], id = ARGV[a + 3],
      body = ARGV[a + 4], now = ARGV[a + 5], max = tonumber(ARGV[a + 6]), max_age = ARGV[a + 7],
      keep = ARGV[a + 8], coalesce = consumer == 'hosted' and 'coalesce' or ARGV[a + 9]}
    seq, wake = push_receipt(KEYS[4], KEYS[k], KEYS[k + 1], KEYS[k + 2], KEYS[k + 3],
      KEYS[k + 4], KEYS[k + 5], r)
  end
  reply[#reply + 1] = seq
  reply[#reply + 1] = wake
end
return reply
