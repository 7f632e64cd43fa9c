-- Count a failed attempt at a stream's next message, and keep its error as the message's
-- 'failed' note for the agent (receipts).
-- KEYS[1] the agent's failures, KEYS[2] the stream's notes, KEYS[3] its trimmed list,
--   KEYS[4] its indexed list, KEYS[5] heads; with a run's token: KEYS[6] the agent's lease on
--   the stream, KEYS[7] the agent's positions.
-- ARGV[1] stream id, ARGV[2] seq, ARGV[3] not before ms, ARGV[4] the agent, ARGV[5] the error
--   or '', ARGV[6] now ms; ARGV[7] the run's token (optional).
-- Returns the number of attempts at seq so far; 0 (nothing recorded) if another token holds
-- the lease or the position is at or past seq: a stale run's failure, which must not count
-- toward the dead letter nor replace the note of what became of the message.
if ARGV[7] then
  local held = redis.call('GET', KEYS[6])
  if held and held ~= ARGV[7] then return 0 end
  local pos = redis.call('HGET', KEYS[7], ARGV[1])
  if pos and tonumber(pos) >= tonumber(ARGV[2]) then return 0 end
end
local attempts = 1
local previous = redis.call('HGET', KEYS[1], ARGV[1])
if previous then
  local seq, count = string.match(previous, '^(%d+):(%d+):')
  if seq == ARGV[2] then attempts = tonumber(count) + 1 end
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. attempts .. ':' .. ARGV[3])
trim_notes(KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1])
local note = {kind = 'failed', at_ms = tonumber(ARGV[6]), attempts = attempts}
if ARGV[5] ~= '' then note.error = ARGV[5] end
redis.call('HSET', KEYS[2], ARGV[2] .. '-' .. ARGV[2] .. '\n' .. ARGV[4], cjson.encode(note))
return attempts
