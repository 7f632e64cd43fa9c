-- Shared by begin and advance (the loader puts it, after next_after and holder, before them).
-- KEYS[1] the lease, KEYS[2] the agent's positions, KEYS[3] heads, KEYS[4] the stream's log,
--   KEYS[5] the agent's failures, KEYS[6] the epoch, KEYS[7] the stream's signals,
--   KEYS[8] the workers' liveness (holder.lua), KEYS[9] the stream's started runs (agent ->
--   '<seq>:<ms>', kept for receipts).
-- ARGV[1] stream id, ARGV[2] token, ARGV[3] ttl ms, ARGV[4] upto, ARGV[5] the epoch or '',
--   the last ARGV the agent: a drained stream clears its signal (append.lua).

-- Take (or extend) the lease and read the next message up to upto. A lease whose worker is no
-- longer alive is taken over (its worker is in the reply).
-- Returns {0, holding token, ms it lasts} if another token holds the lease; {1, dead worker}
-- if nothing is to do (lease given up); {1, dead worker, seq, entry, skipped, attempts,
-- not_before_ms} otherwise (attempts -1: no failure before; skipped: what retention trimmed
-- between the position and seq; dead worker '' when none).
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
  local started = redis.call('HGET', KEYS[9], ARGV[#ARGV])
  if not started or tonumber(string.match(started, '^(%d+):')) ~= seq then
    local now = redis.call('TIME')
    redis.call('HSET', KEYS[9], ARGV[#ARGV], seq .. ':' .. (now[1] * 1000 + math.floor(now[2] / 1000)))
  end
  local skipped = seq - tonumber(pos) - 1
  local failure = redis.call('HGET', KEYS[5], ARGV[1])
  if failure then
    local failed_seq, attempts, not_before = string.match(failure, '^(%d+):(%d+):(%d+)$')
    if tonumber(failed_seq) == seq then
      return {1, dead, seq, entry, skipped, attempts, not_before}
    end
  end
  return {1, dead, seq, entry, skipped, -1, 0}
end
