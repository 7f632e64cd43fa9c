"""Lua scripts of :class:`~bus.store.redis.RedisStore`: each store operation is one round trip
and atomic, so concurrent publishers and consumers in many processes agree on one order.

Log entries are ``"<append time ms>:<message json>"``; a stream's seqs are contiguous, so the
entry for seq ``s`` is at index ``s - (head - LLEN + 1)``.
"""

#: KEYS: heads, log, recipients (members of the channel, or the agents set for an inbox).
#: ARGV: stream, body (JSON without seq), now_ms, max_messages, max_age_ms|'', inbox owner|''.
#: Returns {seq, recipients...}.
APPEND = """
local seq = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
local entry = ARGV[3] .. ':{"seq":' .. seq .. ',' .. string.sub(ARGV[2], 2)
local n = redis.call('RPUSH', KEYS[2], entry)
local max = tonumber(ARGV[4])
if n > max then redis.call('LTRIM', KEYS[2], n - max, -1) end
if ARGV[5] ~= '' then
  local cutoff = tonumber(ARGV[3]) - tonumber(ARGV[5])
  while true do
    local first = redis.call('LINDEX', KEYS[2], 0)
    if not first or tonumber(string.sub(first, 1, string.find(first, ':', 1, true) - 1)) >= cutoff
    then break end
    redis.call('LPOP', KEYS[2])
  end
end
if ARGV[6] == '' then
  local out = redis.call('SMEMBERS', KEYS[3])
  table.insert(out, 1, seq)
  return out
end
if redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 1 then return {seq, ARGV[6]} end
return {seq}
"""

#: Shared by the claim scripts: the first retained entry after ``pos``, and its seq.
_NEXT_AFTER = """
local function next_after(logkey, head, pos)
  if head <= pos then return nil end
  local n = redis.call('LLEN', logkey)
  if n == 0 then return nil end
  local first = head - n + 1
  local want = math.max(pos + 1, first)
  return redis.call('LINDEX', logkey, want - first), want
end
"""

#: KEYS: positions of the agent, heads, log. ARGV: stream.
CLAIM = (
    _NEXT_AFTER
    + """
local pos = redis.call('HGET', KEYS[1], ARGV[1])
if not pos then return false end
local head = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local entry, seq = next_after(KEYS[3], head, tonumber(pos))
if not entry then return false end
redis.call('HSET', KEYS[1], ARGV[1], seq)
return entry
"""
)

#: KEYS: positions of the agent, heads. ARGV: prefix of log keys.
CLAIM_ANY = (
    _NEXT_AFTER
    + """
local positions = redis.call('HGETALL', KEYS[1])
local best_stream, best_stamp, best_seq, best_entry
for i = 1, #positions, 2 do
  local stream = positions[i]
  local head = tonumber(redis.call('HGET', KEYS[2], stream) or '0')
  local entry, seq = next_after(ARGV[1] .. stream, head, tonumber(positions[i + 1]))
  if entry then
    local stamp = tonumber(string.sub(entry, 1, string.find(entry, ':', 1, true) - 1))
    if not best_stamp or stamp < best_stamp then
      best_stream, best_stamp, best_seq, best_entry = stream, stamp, seq, entry
    end
  end
end
if not best_stream then return false end
redis.call('HSET', KEYS[1], best_stream, best_seq)
return {best_stream, best_entry}
"""
)

#: KEYS: members of the channel, positions of the agent, heads. ARGV: agent, stream.
SUBSCRIBE = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], redis.call('HGET', KEYS[3], ARGV[2]) or '0')
return 1
"""

#: KEYS: members of the channel, positions of the agent. ARGV: agent, stream.
UNSUBSCRIBE = """
if redis.call('SREM', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HDEL', KEYS[2], ARGV[2])
return 1
"""

#: KEYS: agents, positions of the agent, heads, broadcast channels.
#: ARGV: agent, inbox stream, key prefix.
REGISTER_AGENT = """
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], redis.call('HGET', KEYS[3], ARGV[2]) or '0')
for _, channel in ipairs(redis.call('SMEMBERS', KEYS[4])) do
  local stream = 'c:' .. channel
  redis.call('SADD', ARGV[3] .. 'members:' .. channel, ARGV[1])
  redis.call('HSET', KEYS[2], stream, redis.call('HGET', KEYS[3], stream) or '0')
end
return 1
"""

#: KEYS: channels, broadcast channels, agents, heads, members of the channel.
#: ARGV: name, spec json, '1' if broadcast, key prefix.
CREATE_CHANNEL = """
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing then
  if existing == ARGV[2] then return 0 end
  return existing
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
if ARGV[3] == '1' then
  redis.call('SADD', KEYS[2], ARGV[1])
  local stream = 'c:' .. ARGV[1]
  local head = redis.call('HGET', KEYS[4], stream) or '0'
  for _, agent in ipairs(redis.call('SMEMBERS', KEYS[3])) do
    redis.call('SADD', KEYS[5], agent)
    redis.call('HSET', ARGV[4] .. 'pos:' .. agent, stream, head)
  end
end
return 1
"""

#: KEYS: heads, log. ARGV: stream, after|'', since_ms|'', newest|''.
#: Entries are in append order and append times never go back by much, so a binary search on
#: the stamp finds ``since``; ``after`` is index arithmetic.
HISTORY = """
local n = redis.call('LLEN', KEYS[2])
if n == 0 then return {} end
local head = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local first = head - n + 1
local start = 0
if ARGV[2] ~= '' then start = math.max(0, tonumber(ARGV[2]) + 1 - first) end
if ARGV[3] ~= '' then
  local since = tonumber(ARGV[3])
  local lo, hi = start, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local entry = redis.call('LINDEX', KEYS[2], mid)
    if tonumber(string.sub(entry, 1, string.find(entry, ':', 1, true) - 1)) < since then
      lo = mid + 1
    else
      hi = mid
    end
  end
  start = lo
end
if ARGV[4] ~= '' then start = math.max(start, n - tonumber(ARGV[4])) end
if start >= n then return {} end
return redis.call('LRANGE', KEYS[2], start, -1)
"""

#: Shared by BEGIN and ADVANCE: take the lease, read the next message up to ``upto``.
#: KEYS: lease, positions of the agent, heads, log, failures of the agent.
#: ARGV: stream, token, ttl_ms, upto, (ADVANCE: seq).
_BEGIN = (
    _NEXT_AFTER
    + """
local function begin()
  local held = redis.call('GET', KEYS[1])
  if held and held ~= ARGV[2] then return {0} end
  local pos = redis.call('HGET', KEYS[2], ARGV[1])
  local entry, seq = nil, nil
  if pos then
    local head = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
    entry, seq = next_after(KEYS[4], head, tonumber(pos))
  end
  if not entry or seq > tonumber(ARGV[4]) then
    if held then redis.call('DEL', KEYS[1]) end
    return {1}
  end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  local failure = redis.call('HGET', KEYS[5], ARGV[1])
  if failure then
    local failed_seq, attempts, not_before = string.match(failure, '^(%d+):(%d+):(%d+)$')
    if tonumber(failed_seq) == seq then return {1, entry, attempts, not_before} end
  end
  return {1, entry}
end
"""
)

BEGIN = _BEGIN + "\nreturn begin()\n"

ADVANCE = (
    _BEGIN
    + """
local pos = redis.call('HGET', KEYS[2], ARGV[1])
if pos and tonumber(pos) < tonumber(ARGV[5]) then
  redis.call('HSET', KEYS[2], ARGV[1], ARGV[5])
  redis.call('HDEL', KEYS[5], ARGV[1])
end
return begin()
"""
)

#: KEYS: lease. ARGV: token, ttl_ms.
RENEW_LEASE = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

#: KEYS: lease. ARGV: token.
RELEASE_LEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
"""

#: KEYS: failures of the agent. ARGV: stream, seq, not_before_ms.
RECORD_FAILURE = """
local attempts = 1
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then
  local seq, count = string.match(previous, '^(%d+):(%d+):')
  if seq == ARGV[2] then attempts = tonumber(count) + 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. attempts .. ':' .. ARGV[3])
return attempts
"""

#: KEYS: positions of the agent, heads. Returns {stream, position, head, ...} where behind.
BACKLOG = """
local positions = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #positions, 2 do
  local head = tonumber(redis.call('HGET', KEYS[2], positions[i]) or '0')
  if head > tonumber(positions[i + 1]) then
    table.insert(out, positions[i]); table.insert(out, positions[i + 1]); table.insert(out, head)
  end
end
return out
"""

#: KEYS: waiter (holds the responder's name), reply list. ARGV: sender, body, ttl_ms.
PUT_REPLY = """
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1
"""
