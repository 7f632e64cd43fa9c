-- The streams an agent is behind on.
-- KEYS[1] the agent's positions, KEYS[2] heads.
-- Returns {stream, position, head, ...}.
local positions = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #positions, 2 do
  local head = tonumber(redis.call('HGET', KEYS[2], positions[i]) or '0')
  if head > tonumber(positions[i + 1]) then
    table.insert(out, positions[i]); table.insert(out, positions[i + 1]); table.insert(out, head)
  end
end
return out
