-- Hand the agent the next message of a stream after its position, and advance the position.
-- KEYS[1] the agent's positions, KEYS[2] heads, KEYS[3] the stream's log, KEYS[4] the epoch,
--   KEYS[5] the agent's lease on the stream, KEYS[6] the stream's signals.
-- ARGV[3] the agent. Finding nothing pending clears the agent's signal (append.lua).
-- ARGV[1] stream id, ARGV[2] the epoch or ''.
-- Returns {seq, entry, skipped}, or false if nothing is pending, the agent does not read the stream
-- or a reader holds the stream under a lease (take.lua, begin.lua);
-- a BUSRESET error reply (epoch.lua).
local reset = reset_reply(KEYS[4], ARGV[2])
if reset then return reset end
if redis.call('EXISTS', KEYS[5]) == 1 then return false end
local pos = redis.call('HGET', KEYS[1], ARGV[1])
if not pos then return false end
local head = tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0')
local entry, seq = next_after(KEYS[3], head, tonumber(pos))
if not entry then
  redis.call('HDEL', KEYS[6], ARGV[3])
  return false
end
redis.call('HSET', KEYS[1], ARGV[1], seq)
return {seq, entry, seq - tonumber(pos) - 1}
