-- Push one message onto each of many kombu queues (bus.broker.fanout), each member's message
-- built here from one template: the client sends the template and the members' names, not a
-- ~1 KB message per member.
-- KEYS[i] the i-th member's queue (a kombu queue of priority 0 is the list named as the queue).
-- ARGV[1] n, how many template pieces follow; ARGV[2] .. ARGV[n + 1] the template: literal
--   text at odd places, at even ones the name of what goes there: 'agent' (the member's name),
--   'id' (task id), 'tag' (delivery tag) or 'queue' (its queue).
-- ARGV[n + 2], ARGV[n + 3] the task id's and the delivery tag's prefix: each member's ends them
--   with its index (from 0) in 12 hex digits.
-- ARGV[n + 3 + i] the i-th member's name (an agent name: no character JSON escapes).
-- Returns how many were pushed.
local n = tonumber(ARGV[1])
local id_prefix, tag_prefix = ARGV[n + 2], ARGV[n + 3]
local template, slots = {}, {}
for j = 1, n do
  template[j] = ARGV[1 + j]
  if j % 2 == 0 then slots[#slots + 1] = j end
end
local pieces = {}
for j = 1, n do pieces[j] = template[j] end
for i = 1, #KEYS do
  local suffix = string.format('%012x', i - 1)
  local values = {agent = ARGV[n + 3 + i], id = id_prefix .. suffix, tag = tag_prefix .. suffix,
                  queue = KEYS[i]}
  for _, j in ipairs(slots) do pieces[j] = values[template[j]] end
  redis.call('LPUSH', KEYS[i], table.concat(pieces))
end
return #KEYS
