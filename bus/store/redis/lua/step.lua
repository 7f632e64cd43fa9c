-- Shared by begin and advance (the loader puts it, after next_after and holder, before them).
-- KEYS[1] the lease, KEYS[2] the agent's positions, KEYS[3] heads, KEYS[4] the stream's log,
--   KEYS[5] the agent's failures, KEYS[6] the epoch, KEYS[7] the stream's signals,
--   KEYS[8] the workers' liveness (holder.lua), KEYS[9] the stream's started runs (agent ->
--   '<seq>:<ms>:<token>', kept for receipts), KEYS[10] the stream's notes, KEYS[11] its
--   trimmed list, KEYS[12] its indexed list (trim_notes.lua), KEYS[13] the located hash (the
--   message index: its first place is read with the entry, see bus.reading.replays).
-- ARGV[1] stream id, ARGV[2] token, ARGV[3] ttl ms, ARGV[4] upto, ARGV[5] the epoch or '',
--   the last ARGV the agent: a drained stream clears its signal (append.lua).

-- Take (or extend) the lease and read the next message up to upto. A lease whose worker is no
-- longer alive is taken over (its worker is in the reply). A run beginning on the message a
-- run of another token started on, whose worker is no longer alive, counts that run as a failed
-- attempt (the worker died in the handler: no failure was recorded), with a 'failed' note.
-- Returns {0, holding token, ms it lasts} if another token holds the lease; {1, dead worker}
-- if nothing is to do (lease given up); {1, dead worker, seq, entry, skipped, attempts,
-- not_before_ms, placed} otherwise (attempts -1: no failure before; skipped: what retention
-- trimmed between the position and seq; dead worker '' when none; placed: '<id> <where the
-- index first placed it>' for an entry that starts with its id, else '').
local function step()
  local blocked, held, dead = lease_holder(KEYS[1], KEYS[8], ARGV[2])
  if blocked then return held_reply(KEYS[1], held) end
  local pos = redis.call('HGET', KEYS[2], ARGV[1])
  local entry, seq = nil, nil
  if pos then
    local head = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
    entry, seq = next_after(KEYS[4], head, tonumber(pos))
  end
  if not entry or seq > tonumber(ARGV[4]) then
    if held then redis.call('DEL', KEYS[1]) end
    if not entry then redis.call('HDEL', KEYS[7], ARGV[#ARGV]) end
    return {1, dead}
  end
  redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
  local agent = ARGV[#ARGV]
  local started = redis.call('HGET', KEYS[9], agent)
  local started_seq, started_token = nil, ''
  if started then started_seq, started_token = string.match(started, '^(%d+):%d+:?(.*)$') end
  if tonumber(started_seq) ~= seq or started_token ~= ARGV[2] then
    local now = now_ms()
    redis.call('HSET', KEYS[9], agent, seq .. ':' .. now .. ':' .. ARGV[2])
    local lost = tonumber(started_seq) == seq and string.match(started_token, '^(%S+) ')
    if lost and not worker_alive(KEYS[8], lost) then
      local attempts, not_before = 1, 0
      local previous = redis.call('HGET', KEYS[5], ARGV[1])
      if previous then
        local failed_seq, count, after = string.match(previous, '^(%d+):(%d+):(%d+)$')
        if tonumber(failed_seq) == seq then attempts, not_before = tonumber(count) + 1, after end
      end
      redis.call('HSET', KEYS[5], ARGV[1], seq .. ':' .. attempts .. ':' .. not_before)
      trim_notes(KEYS[10], KEYS[11], KEYS[12], KEYS[3], ARGV[1])
      local note = {kind = 'failed', at_ms = now, attempts = attempts,
        error = 'worker ' .. lost .. ' was lost while handling it'}
      redis.call('HSET', KEYS[10], seq .. '-' .. seq .. '\n' .. agent, cjson.encode(note))
    end
  end
  local skipped = seq - tonumber(pos) - 1
  local placed = ''
  local id = string.match(entry, '^%d+:{"id":"([^"\\]+)"')
  if id then placed = id .. ' ' .. (redis.call('HGET', KEYS[13], id) or '') end
  local failure = redis.call('HGET', KEYS[5], ARGV[1])
  if failure then
    local failed_seq, attempts, not_before = string.match(failure, '^(%d+):(%d+):(%d+)$')
    if tonumber(failed_seq) == seq then
      return {1, dead, seq, entry, skipped, attempts, not_before, placed}
    end
  end
  return {1, dead, seq, entry, skipped, -1, 0, placed}
end
