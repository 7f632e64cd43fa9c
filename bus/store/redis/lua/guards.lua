-- The guards of append.lua (the loader puts this before it): keeping agents in bounds in the
-- append's own atomic step. bus/store/contracts/guards.py says what each check does;
-- bus/store/memory/guards.py (run_checks) is the same, step for step.
-- ARGV[17] (append.lua's keys and arguments): '' (no guards) or, '\n'-separated: sender,
--   target (an agent or '#<channel>'), hops, max hops, pair rate (per s), burst, cool-down ms,
--   max pending, '1' to refuse an overloaded channel member (else note it), budget tokens,
--   budget cost, budget window ms, tokens the message reports, cost it reports (0: off/none).
-- KEYS[13] circuits: '<sender>\n<target>' -> '<tokens> <last ms> <open until ms or 0>';
-- KEYS[14] spend: agent -> '<window start ms> <tokens> <cost>'; KEYS[15] limits: agent ->
-- '<max hops> <max pending> <budget tokens> <budget cost>' ('-': the setting's).
-- Times are the server's (TIME), so every publisher's bucket runs on one clock.

local function guard_words(raw)
  local out = {}
  if raw then
    for word in string.gmatch(raw, '%S+') do table.insert(out, tonumber(word) or false) end
  end
  return out
end

local function guard_own(agent, index, default)
  local value = guard_words(redis.call('HGET', KEYS[15], agent))[index]
  if value then return value end
  return default
end

-- Messages stored after the agent's positions, over every stream it reads.
local function guard_pending(positions_key)
  local pos = redis.call('HGETALL', positions_key)
  if #pos == 0 then return 0 end
  local streams = {}
  for i = 1, #pos, 2 do table.insert(streams, pos[i]) end
  local heads = redis.call('HMGET', KEYS[1], unpack(streams))
  local total = 0
  for i = 1, #streams do total = total + (tonumber(heads[i]) or 0) - tonumber(pos[2 * i]) end
  return total
end

-- Decide the guards before anything is stored: {refusal = 'BUSGUARD ...'} or what to write
-- after the append (the overloaded members to note, whether the circuit closed).
local function guard_checks()
  if ARGV[17] == '' then return {} end
  local g = {}
  for field in string.gmatch(ARGV[17], '[^\n]+') do table.insert(g, field) end
  local sender, target = g[1], g[2]
  local n = {}
  for i = 3, #g do n[i] = tonumber(g[i]) end
  local rate, burst, cool = n[5], n[6], n[7]
  local time = redis.call('TIME')
  local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  local max_hops = guard_own(sender, 1, n[4])
  if max_hops > 0 and n[3] > max_hops then
    return {refusal = 'BUSGUARD hops ' .. n[3] .. ' ' .. max_hops}
  end
  local pair = sender .. '\n' .. target
  local tokens, last, until_ms, trial = burst, now, 0, false
  if rate > 0 then
    local bucket = guard_words(redis.call('HGET', KEYS[13], pair))
    if #bucket == 3 then tokens, last, until_ms = bucket[1], bucket[2], bucket[3] end
    if until_ms > 0 and now < until_ms then
      return {refusal = 'BUSGUARD circuit ' .. (until_ms - now) / 1000 .. ' 0'}
    end
    trial = until_ms > 0
    if trial then
      tokens = burst
    else
      tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
    end
  end
  local start = now - now % n[12]
  local spent = guard_words(redis.call('HGET', KEYS[14], sender))
  local spent_tokens, spent_cost = 0, 0
  if #spent == 3 and spent[1] == start then spent_tokens, spent_cost = spent[2], spent[3] end
  local token_limit = guard_own(sender, 3, n[10])
  if token_limit > 0 and spent_tokens >= token_limit then
    return {refusal = 'BUSGUARD tokens ' .. spent_tokens .. ' ' .. token_limit}
  end
  local cost_limit = guard_own(sender, 4, n[11])
  if cost_limit > 0 and spent_cost >= cost_limit then
    return {refusal = 'BUSGUARD cost ' .. spent_cost .. ' ' .. cost_limit}
  end
  local overloaded = {}
  local function over(agent, positions, refuse)
    local limit = guard_own(agent, 2, n[8])
    if limit <= 0 then return nil end
    local pending = guard_pending(positions)
    if pending < limit then return nil end
    if refuse then return 'BUSGUARD overloaded ' .. pending .. ' ' .. limit .. ' ' .. agent end
    table.insert(overloaded, agent .. ' ' .. pending .. ' ' .. limit)
  end
  if ARGV[6] ~= '' then
    if redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 1 then
      local refusal = over(ARGV[6], KEYS[17], true)
      if refusal then return {refusal = refusal} end
    end
  else
    for i = 1, #ARGV - 17 do
      local refusal = over(ARGV[17 + i], KEYS[17 + i], g[9] == '1')
      if refusal then return {refusal = refusal} end
    end
  end
  local closed = 0
  if rate > 0 then
    if tokens < 1 then
      redis.call('HSET', KEYS[13], pair, tokens .. ' ' .. now .. ' ' .. (now + cool))
      return {refusal = 'BUSGUARD circuit ' .. cool / 1000 .. ' 1'}
    end
    redis.call('HSET', KEYS[13], pair, (tokens - 1) .. ' ' .. now .. ' 0')
    if trial then closed = 1 end
  end
  if n[13] > 0 or n[14] > 0 then
    redis.call('HSET', KEYS[14], sender,
      start .. ' ' .. (spent_tokens + n[13]) .. ' ' .. (spent_cost + n[14]))
  end
  return {overloaded = overloaded, closed = closed, now = now}
end

-- After the append of seq: note the overloaded members (receipts), and the reply's last
-- element ('<closed>\n<member>...'), or nil without guards.
local function guard_notes(seq, guarded)
  if ARGV[17] == '' then return nil end
  local members = {}
  for _, item in ipairs(guarded.overloaded) do
    local agent, pending, limit = string.match(item, '^(%S+) (%S+) (%S+)$')
    table.insert(members, agent)
    if seq % 64 == 0 then trim_notes(KEYS[16], KEYS[11], KEYS[10], KEYS[1], ARGV[1]) end
    redis.call('HSET', KEYS[16], seq .. '-' .. seq .. '\n' .. agent, cjson.encode({
      kind = 'overloaded', at_ms = guarded.now, attempts = 0,
      error = 'overloaded: ' .. pending .. ' messages not read yet (max_pending ' .. limit .. ')',
    }))
  end
  return guarded.closed .. '\n' .. table.concat(members, '\n')
end
