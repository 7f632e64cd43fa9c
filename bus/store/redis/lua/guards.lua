-- The guards (the loader puts this before append.lua and put_reply.lua): keeping agents in
-- bounds in the store step itself. bus/store/contracts/guards.py says what each check does;
-- bus/store/memory/guards.py (run_checks) decides the same, step for step (it counts every
-- recipient; here the unread bounds spare the count of those that cannot be at their limit).
-- guard_arg(1) to guard_arg(14), the fields of Checks (append.lua: ARGV[18..31]; another
--   script says where with guard_layout): sender ('': no guards), target (an agent or a
--   channel), hops, max hops, pair rate (per s), burst, cool-down ms, max pending, '1' to
--   refuse an overloaded channel member (else note it), budget tokens, budget cost, budget
--   window ms, tokens the message reports, cost it reports (0: off/none). Separate arguments:
--   parsing one string cost more than the checks.
-- KEYS[guard_keys + 1] circuits: '<sender>\n<target>' -> '<tokens> <last ms> <open until ms
-- or 0>'; KEYS[guard_keys + 2] spend: agent -> '<window start ms> <tokens> <cost>';
-- KEYS[guard_keys + 3] limits: agent -> '<max hops> <max pending> <budget tokens> <budget
-- cost>' ('-': the setting's). (append.lua: KEYS[13..15]; the pending counts use its KEYS[1]
-- heads, KEYS[3] recipients, KEYS[17] the inbox owner's positions, KEYS[18] the unread
-- bounds, KEYS[18 + i] member i's positions.)
-- Times are the server's (TIME), read only when a check needs one, so every publisher's
-- bucket runs on one clock.

local guard_argv, guard_keys, guard_recipients = 17, 12, true

local function guard_arg(i) return ARGV[guard_argv + i] end

-- For a script other than append: its checks follow ARGV[argv_base], its circuits, spend and
-- limits keys KEYS[keys_base]; no recipients' pending counts are checked (a reply to a
-- waiting request is in no queue).
local function guard_layout(argv_base, keys_base)
  guard_argv, guard_keys, guard_recipients = argv_base, keys_base, false
end

local function guard_words(raw)
  local out = {}
  if raw then
    for word in string.gmatch(raw, '%S+') do table.insert(out, tonumber(word) or false) end
  end
  return out
end

-- Agents' own limits, read once per append (nothing when no agent set any): all of them in
-- one read when they are few (a channel's members are then not read one by one), else each
-- agent's as needed.
local guard_limits = {}
local guard_any_limits = nil
local guard_all_limits = false

local function guard_own(agent, index, default)
  if guard_any_limits == nil then
    local count = redis.call('HLEN', KEYS[guard_keys + 3])
    guard_any_limits = count > 0
    if guard_any_limits and count <= 512 then
      local raw = redis.call('HGETALL', KEYS[guard_keys + 3])
      for i = 1, #raw, 2 do guard_limits[raw[i]] = guard_words(raw[i + 1]) end
      guard_all_limits = true
    end
  end
  if not guard_any_limits then return default end
  local own = guard_limits[agent]
  if own == nil then
    own = {}
    if not guard_all_limits then
      own = guard_words(redis.call('HGET', KEYS[guard_keys + 3], agent))
    end
    guard_limits[agent] = own
  end
  if own[index] then return own[index] end
  return default
end

local guard_time = nil

local function guard_now()
  if guard_time == nil then
    local time = redis.call('TIME')
    guard_time = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
  end
  return guard_time
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

-- Whether a channel append checks only the agents with their own max_pending (the
-- bus-level max_pending is 0 and the channel does not reject publishes): then the caller
-- gives those agents (every one, member or not) instead of the members.
local function guard_limited()
  return ARGV[6] == '' and ARGV[11] ~= 'reject' and tonumber(guard_arg(8)) <= 0
end

-- In that case: whether the agents given (ARGV[31 + i]) are exactly those with their own
-- max_pending (else the caller reads them again); caches their limits for guard_own.
local function guard_limited_given()
  local given = {}
  for i = 32, #ARGV do given[ARGV[i]] = true end
  local found = 0
  if redis.call('HLEN', KEYS[guard_keys + 3]) == 0 then
    guard_any_limits = false
  else
    guard_any_limits, guard_all_limits = true, true
    local raw = redis.call('HGETALL', KEYS[guard_keys + 3])
    for i = 1, #raw, 2 do
      local own = guard_words(raw[i + 1])
      guard_limits[raw[i]] = own
      if own[2] and own[2] > 0 then
        if not given[raw[i]] then return false end
        found = found + 1
      end
    end
  end
  return found == #ARGV - 31
end

-- How far every stream's head moved up in all (the heads hash's field ''): each message a
-- head moves up over adds at most 1 to an agent's pending count, so with B its unread bound
-- (KEYS[18], set when last counted to total - count) its count is at most total - B.
local guard_total_now = nil

local function guard_total()
  if guard_total_now == nil then
    guard_total_now = tonumber(redis.call('HGET', KEYS[1], '') or '0')
  end
  return guard_total_now
end

-- The members' unread bounds (false: none), in reads of 1000 (unpack takes a few thousand).
local function guard_bounds(agents)
  local bounds = {}
  for first = 1, #agents, 1000 do
    local chunk = {}
    for i = first, math.min(#agents, first + 999) do chunk[#chunk + 1] = agents[i] end
    local found = redis.call('HMGET', KEYS[18], unpack(chunk))
    for j = 1, #chunk do bounds[first + j - 1] = found[j] end
  end
  return bounds
end

-- The overloaded recipients: a refusal, or those to note (agent, pending, limit), or (third
-- value) the members to count whose positions the caller did not give. A member is counted
-- only when its bound cannot clear it (bound: as read, false: none, nil: not read yet), and
-- its bound is set again from the count. members: the channel's members as append.lua read
-- them, when the caller gave only the positions asked for (guard_asked).
local function guard_overloaded(max_pending, members)
  local overloaded = {}
  local function over(agent, positions, bound, refuse)
    local limit = guard_own(agent, 2, max_pending)
    if limit <= 0 then return nil end
    if bound == nil then bound = redis.call('HGET', KEYS[18], agent) end
    local total = guard_total()
    if bound and total - tonumber(bound) < limit then return nil end
    if not positions then return nil, agent end  -- to count: the caller is asked its key
    local pending = guard_pending(positions)
    redis.call('HSET', KEYS[18], agent, total - pending)
    if pending < limit then return nil end
    if refuse then return 'BUSGUARD overloaded ' .. pending .. ' ' .. limit .. ' ' .. agent end
    table.insert(overloaded, agent .. ' ' .. pending .. ' ' .. limit)
  end
  if not guard_recipients then return nil, overloaded end
  if ARGV[6] ~= '' then
    if redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 1 then
      local refusal = over(ARGV[6], KEYS[17], nil, true)
      if refusal then return refusal, overloaded end
    end
    return nil, overloaded
  end
  local refuse, count = guard_arg(9) == '1', #ARGV - 31
  if members then
    local given, wanted = {}, {}
    for i = 1, count do given[ARGV[31 + i]] = i end
    local bounds = guard_bounds(members)
    for j, agent in ipairs(members) do
      local i = given[agent]
      local refusal, ask = over(agent, i and KEYS[18 + i], bounds[j], refuse)
      if refusal then return refusal, overloaded end
      if ask then table.insert(wanted, ask) end
    end
    return nil, overloaded, wanted
  end
  -- The members given (reject-publish), or the agents with their own max_pending (limited).
  local limited = guard_limited()
  local bounds = {}
  if not limited and max_pending > 0 then
    local agents = {}
    for i = 1, count do agents[i] = ARGV[31 + i] end
    bounds = guard_bounds(agents)
  end
  for i = 1, count do
    local agent = ARGV[31 + i]
    if not limited or redis.call('SISMEMBER', KEYS[3], agent) == 1 then
      local refusal = over(agent, KEYS[18 + i], bounds[i], refuse)
      if refusal then return refusal, overloaded end
    end
  end
  return nil, overloaded
end

-- Whether a channel append is given only the members' positions the script asks for (no
-- reject-publish, the bus-level max_pending on): it reads the members itself, and the bounds
-- clear most of them.
local function guard_asked()
  return ARGV[6] == '' and ARGV[11] ~= 'reject' and tonumber(guard_arg(8)) > 0
end

-- Decide the guards before anything is stored: {refusal = 'BUSGUARD ...'}, {ask = members
-- whose positions to give}, or what to write after the append (the overloaded members to
-- note, whether the circuit closed). members: see guard_overloaded.
local function guard_checks(members)
  local sender = guard_arg(1)
  if sender == '' then return {} end
  local rate = tonumber(guard_arg(5))
  local max_hops = guard_own(sender, 1, tonumber(guard_arg(4)))
  if max_hops > 0 and tonumber(guard_arg(3)) > max_hops then
    return {refusal = 'BUSGUARD hops ' .. guard_arg(3) .. ' ' .. max_hops}
  end
  local pair = sender .. '\n' .. guard_arg(2)
  local burst = tonumber(guard_arg(6))
  local tokens, trial = burst, false
  if rate > 0 then
    local now, until_ms, last = guard_now(), 0, 0
    local bucket = guard_words(redis.call('HGET', KEYS[guard_keys + 1], pair))
    if #bucket == 3 then tokens, last, until_ms = bucket[1], bucket[2], bucket[3] end
    if until_ms > 0 and now < until_ms then
      return {refusal = 'BUSGUARD circuit ' .. (until_ms - now) / 1000 .. ' 0'}
    end
    trial = until_ms > 0
    if trial then
      tokens = burst  -- the cool-down passed: this send is the trial, the bucket full again
    elseif #bucket == 3 then
      tokens = math.min(burst, tokens + math.max(0, now - last) * rate / 1000)
    end
  end
  local token_limit = guard_own(sender, 3, tonumber(guard_arg(10)))
  local cost_limit = guard_own(sender, 4, tonumber(guard_arg(11)))
  local used_tokens, used_cost = tonumber(guard_arg(13)), tonumber(guard_arg(14))
  local spent_tokens, spent_cost, start = 0, 0, nil
  -- The spend is read only when a budget applies or the message reports usage.
  if token_limit > 0 or cost_limit > 0 or used_tokens > 0 or used_cost > 0 then
    local window = tonumber(guard_arg(12))
    start = guard_now() - guard_now() % window
    local spent = guard_words(redis.call('HGET', KEYS[guard_keys + 2], sender))
    if #spent == 3 and spent[1] == start then spent_tokens, spent_cost = spent[2], spent[3] end
  end
  if token_limit > 0 and spent_tokens >= token_limit then
    return {refusal = 'BUSGUARD tokens ' .. spent_tokens .. ' ' .. token_limit}
  end
  if cost_limit > 0 and spent_cost >= cost_limit then
    return {refusal = 'BUSGUARD cost ' .. spent_cost .. ' ' .. cost_limit}
  end
  local refusal, overloaded, wanted = guard_overloaded(tonumber(guard_arg(8)), members)
  if refusal then return {refusal = refusal} end
  if wanted and #wanted > 0 then return {ask = wanted} end
  local closed = 0
  if rate > 0 then
    local now = guard_now()
    if tokens < 1 then
      local cool = tonumber(guard_arg(7))
      redis.call('HSET', KEYS[guard_keys + 1], pair, tokens .. ' ' .. now .. ' ' .. (now + cool))
      return {refusal = 'BUSGUARD circuit ' .. cool / 1000 .. ' 1'}
    end
    redis.call('HSET', KEYS[guard_keys + 1], pair, (tokens - 1) .. ' ' .. now .. ' 0')
    if trial then closed = 1 end
  end
  if start ~= nil and (used_tokens > 0 or used_cost > 0) then
    redis.call('HSET', KEYS[guard_keys + 2], sender,
      start .. ' ' .. (spent_tokens + used_tokens) .. ' ' .. (spent_cost + used_cost))
  end
  return {overloaded = overloaded, closed = closed}
end

-- After the append of seq: note the overloaded members (receipts), and the reply's last
-- element ('<closed>\n<member>...'), or nil without guards.
local function guard_notes(seq, guarded)
  if guard_arg(1) == '' then return nil end
  if #guarded.overloaded == 0 then return guarded.closed .. '\n' end
  local members = {}
  if seq % 64 == 0 then trim_notes(KEYS[16], KEYS[11], KEYS[10], KEYS[1], ARGV[1]) end
  for _, item in ipairs(guarded.overloaded) do
    local agent, pending, limit = string.match(item, '^(%S+) (%S+) (%S+)$')
    table.insert(members, agent)
    redis.call('HSET', KEYS[16], seq .. '-' .. seq .. '\n' .. agent, cjson.encode({
      kind = 'overloaded', at_ms = guard_now(), attempts = 0,
      error = 'overloaded: ' .. pending .. ' messages not read yet (max_pending ' .. limit .. ')',
    }))
  end
  return guarded.closed .. '\n' .. table.concat(members, '\n')
end
