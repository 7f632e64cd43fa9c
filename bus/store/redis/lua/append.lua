-- Append a message to a stream, trim the log to its retention, name the recipients.
-- KEYS[1] heads, KEYS[2] the stream's log, KEYS[3] recipients: the channel's members, or the
--   agents set for an inbox, KEYS[4] channels, KEYS[5] the epoch, KEYS[6] the idempotency
--   key's record (any key name when there is none), KEYS[7] the stream's signals, KEYS[8]
--   the located hash, KEYS[9] the caused sorted set, KEYS[10] the stream's indexed list,
--   KEYS[11] its trimmed list (the message index: see key_names.py), KEYS[12] the stream's
--   audiences, KEYS[13] the guards' circuits, KEYS[14] their spend, KEYS[15] agents' own
--   limits, KEYS[16] the stream's notes, KEYS[17] the positions of the inbox's owner (any key
--   name for a channel), KEYS[18] the guards' unread bounds, KEYS[18 + i] the positions of
--   agent i of ARGV[31 + i].
-- ARGV[1] stream id, ARGV[2] message JSON (stored as given), ARGV[3] now ms,
--   ARGV[4] max messages, ARGV[5] max age ms or '', ARGV[6] the inbox's owner or '' (channel),
--   ARGV[7] the channel whose spec the caller holds or '', ARGV[8] that spec's version,
--   ARGV[9] the epoch or '', ARGV[10] how long the idempotency key is remembered (ms) or '',
--   ARGV[11] 'reject' if the channel rejects publishes that would trim unread messages,
--   ARGV[12] 'coalesce' to wake only recipients with no delivery outstanding (see below),
--   ARGV[13] the message id to index or '', ARGV[14] its causation id or '', ARGV[15] its
--   sender, ARGV[16] how many ids of trimmed messages the index keeps (for receipts),
--   ARGV[17] the highest seq of the stream the caller saw acknowledged, or '' (fencing: a
--   head below it lost acknowledged appends in a failover; see fence.lua),
--   ARGV[18] to ARGV[31] the guards' checks (see guards.lua; ARGV[18] '': none),
--   ARGV[31 + i] agent i: on a reject-publish channel, what the caller believes the members
--   are; else, with guards on a channel: the agents with their own max_pending if the
--   bus-level one is 0 (guards.lua, guard_limited), or the members whose positions the
--   script asked for (guard_asked: any list, none at first).
-- With a message id, the index maps it to the stream, seq, causation id, append time and
-- sender (the first append of an id only), and a channel's audience (its members, sorted) is recorded from this seq on if it
-- differs from the last record: nothing per member is written while the membership stays the
-- same. When retention trims a message, its entry leaves the caused set at once, its id the
-- located hash only after ARGV[16] later trims.
-- Returns {seq, recipient...}; with 'coalesce' {seq, k, recipient...}, the first k recipients
-- being those to wake: their signal on the stream is set to seq (HSETNX), and a consumer that
-- finds the stream drained clears it (claim, claim_any, take, step);
-- With guards, one more element ends the reply: '<closed 0|1>\n<member overloaded>...'.
-- {-2, seq}: a message with the same idempotency key was
-- appended as seq (nothing done); {-1}: the members (or the agents with their own
-- max_pending) differ from ARGV (read them again); {-3, agent...}: give these members'
-- positions too (guard_asked; nothing done).
-- Error replies: BUSRESET (see epoch.lua), 'BUSFENCED <head>' (below ARGV[17]: nothing done),
-- 'BUSUNKNOWN' (no such channel), 'BUSCHANGED
-- <spec JSON>' (the caller's spec is out of date), 'BUSREJECT <member,...>' (would trim
-- what those members have not read), 'BUSGUARD <kind> <value> <value> [agent]' (the guards
-- refused: see bus/store/contracts/guards.py, guard_refusal).
local reset = reset_reply(KEYS[5], ARGV[9])
if reset then return reset end
if ARGV[17] ~= '' then
  local known = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  if known < tonumber(ARGV[17]) then return redis.error_reply('BUSFENCED ' .. known) end
end
if ARGV[7] ~= '' then
  local spec = redis.call('HGET', KEYS[4], ARGV[7])
  if not spec then return redis.error_reply('BUSUNKNOWN ' .. ARGV[7]) end
  if tostring(cjson.decode(spec).version or 1) ~= ARGV[8] then
    return redis.error_reply('BUSCHANGED ' .. spec)
  end
end
if ARGV[10] ~= '' then
  local original = redis.call('GET', KEYS[6])
  if original then return {-2, tonumber(original)} end
end
local count = #ARGV - 31
local members_read = nil  -- the channel's members, when read for the guards (or to check)
if ARGV[18] ~= '' and guard_asked() then
  members_read = redis.call('SMEMBERS', KEYS[3])
elseif ARGV[11] == 'reject' or (ARGV[18] ~= '' and ARGV[6] == '' and not guard_limited()) then
  members_read = redis.call('SMEMBERS', KEYS[3])
  if #members_read ~= count then return {-1} end
  local given = {}
  for i = 1, count do given[ARGV[31 + i]] = true end
  for _, member in ipairs(members_read) do
    if not given[member] then return {-1} end
  end
elseif ARGV[18] ~= '' and ARGV[6] == '' and not guard_limited_given() then
  return {-1}
end
if ARGV[11] == 'reject' then
  local head = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
  -- Appending trims every seq up to head + 1 - max: a member must have read them.
  local last_trimmed = head + 1 - tonumber(ARGV[4])
  local lagging = {}
  for i = 1, count do
    local pos = redis.call('HGET', KEYS[18 + i], ARGV[1])
    if pos and tonumber(pos) < last_trimmed then table.insert(lagging, ARGV[31 + i]) end
  end
  if #lagging > 0 then return redis.error_reply('BUSREJECT ' .. table.concat(lagging, ',')) end
end
local guarded = guard_checks(ARGV[18] ~= '' and guard_asked() and members_read or nil)
if guarded.refusal then return redis.error_reply(guarded.refusal) end
if guarded.ask then
  table.insert(guarded.ask, 1, -3)
  return guarded.ask
end
local seq = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[1], '', 1)  -- the heads' total (guards.lua, guard_bound)
if ARGV[10] ~= '' then redis.call('SET', KEYS[6], seq, 'PX', ARGV[10]) end
local n = redis.call('RPUSH', KEYS[2], ARGV[3] .. ':' .. ARGV[2])
trim_log(KEYS[2], n, tonumber(ARGV[4]), ARGV[5], ARGV[3])
-- The message index: this entry in; whatever the trims above dropped out of the caused set,
-- and its id onto the trimmed list, which keeps the last ARGV[16] of them.
redis.call('RPUSH', KEYS[10], ARGV[13] .. ' ' .. ARGV[14])
-- An id keeps its first place: a copy appended later is refused by the consumers (placed).
if ARGV[13] ~= '' and redis.call('HSETNX', KEYS[8], ARGV[13],
    ARGV[1] .. ' ' .. seq .. ' ' .. ARGV[14] .. ' ' .. ARGV[3] .. ' ' .. ARGV[15]) == 1 then
  if ARGV[14] ~= '' then redis.call('ZADD', KEYS[9], 0, ARGV[14] .. ' ' .. ARGV[13]) end
end
drop_trimmed(KEYS[2], KEYS[10], KEYS[11], KEYS[8], KEYS[9], seq, ARGV[16])
local out
if ARGV[6] == '' then
  out = members_read or redis.call('SMEMBERS', KEYS[3])
elseif redis.call('SISMEMBER', KEYS[3], ARGV[6]) == 1 then
  out = {ARGV[6]}
else
  out = {}
end
if ARGV[13] ~= '' and ARGV[6] == '' then
  table.sort(out)
  local members = table.concat(out, '\n')
  local last = redis.call('LINDEX', KEYS[12], -1)
  if not last or string.sub(last, string.find(last, '\n', 1, true) + 1) ~= members then
    redis.call('RPUSH', KEYS[12], seq .. '\n' .. members)
    local first = redis.call('LINDEX', KEYS[11], 0)
    local oldest = seq - redis.call('LLEN', KEYS[10]) + 1
    if first then oldest = tonumber(string.sub(first, 1, string.find(first, ' ', 1, true) - 1)) end
    while true do
      local second = redis.call('LINDEX', KEYS[12], 1)
      if not second then break end
      if tonumber(string.sub(second, 1, string.find(second, '\n', 1, true) - 1)) > oldest then
        break
      end
      redis.call('LPOP', KEYS[12])
    end
  end
end
local guard_reply = guard_notes(seq, guarded)
if ARGV[12] ~= 'coalesce' then
  table.insert(out, 1, seq)
  if guard_reply then table.insert(out, guard_reply) end
  return out
end
local wake, rest = {seq, 0}, {}
for i = 1, #out do
  if redis.call('HSETNX', KEYS[7], out[i], seq) == 1 then
    table.insert(wake, out[i])
  else
    table.insert(rest, out[i])
  end
end
wake[2] = #wake - 2
for i = 1, #rest do table.insert(wake, rest[i]) end
if guard_reply then table.insert(wake, guard_reply) end
return wake
