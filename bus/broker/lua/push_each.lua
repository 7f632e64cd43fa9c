-- Push one message onto each of many kombu queues (bus.broker.fanout), each member's message
-- built here from one template: the client sends the template and the members' queues, not a
-- ~1 KB message per member.
-- KEYS[i] the i-th member's queue (a kombu queue of priority 0 is the list named as the queue):
--   the queue prefix, then the member's name (an agent name: no character JSON escapes).
-- ARGV[1] n, how many template pieces follow; ARGV[2] .. ARGV[n + 1] the template: literal
--   text at odd places, at even ones the name of what goes there: 'agent' (the member's name),
--   'id' (task id), 'tag' (delivery tag) or 'queue' (its queue).
-- ARGV[n + 2], ARGV[n + 3] the task id's and the delivery tag's prefix: each member's ends them
--   with its index (from 0) in 12 hex digits.
-- ARGV[n + 4] the queue prefix's length.
-- Returns how many were pushed.
local call, concat, format, sub = redis.call, table.concat, string.format, string.sub
local n = tonumber(ARGV[1])
local id_prefix, tag_prefix = ARGV[n + 2], ARGV[n + 3]
local name_from = tonumber(ARGV[n + 4]) + 1
local pieces, slots = {}, {agent = {}, id = {}, tag = {}, queue = {}}
for j = 1, n do
  pieces[j] = ARGV[1 + j]
  if j % 2 == 0 then
    local kind = slots[ARGV[1 + j]]
    kind[#kind + 1] = j
  end
end
local agent_at, id_at, tag_at, queue_at = slots.agent, slots.id, slots.tag, slots.queue
for i = 1, #KEYS do
  local queue = KEYS[i]
  local suffix = format('%012x', i - 1)
  local agent, id, tag = sub(queue, name_from), id_prefix .. suffix, tag_prefix .. suffix
  for k = 1, #agent_at do pieces[agent_at[k]] = agent end
  for k = 1, #id_at do pieces[id_at[k]] = id end
  for k = 1, #tag_at do pieces[tag_at[k]] = tag end
  for k = 1, #queue_at do pieces[queue_at[k]] = queue end
  call('LPUSH', queue, concat(pieces))
end
return #KEYS
