-- Add usage to an agent's spend in the budget window now falls in (see guards.lua).
-- KEYS[1] spend. ARGV[1] agent, ARGV[2] tokens, ARGV[3] cost, ARGV[4] window ms.
-- Returns '<window start ms> <tokens> <cost>'.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local start = now - now % tonumber(ARGV[4])
local tokens, cost = 0, 0
local raw = redis.call('HGET', KEYS[1], ARGV[1])
if raw then
  local old_start, old_tokens, old_cost = string.match(raw, '^(%S+) (%S+) (%S+)$')
  if tonumber(old_start) == start then tokens, cost = tonumber(old_tokens), tonumber(old_cost) end
end
local spent = start .. ' ' .. (tokens + tonumber(ARGV[2])) .. ' ' .. (cost + tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], ARGV[1], spent)
return spent
