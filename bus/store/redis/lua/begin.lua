-- Take the agent's lease on a stream and read the next message up to upto (see step.lua).
-- KEYS[1] the lease, KEYS[2] the agent's positions, KEYS[3] heads, KEYS[4] the stream's log,
--   KEYS[5] the agent's failures, KEYS[6] the epoch, KEYS[7] the stream's signals,
--   KEYS[8] the workers' liveness, KEYS[9] the stream's started runs, KEYS[10] its notes,
--   KEYS[11] its trimmed list, KEYS[12] its indexed list, KEYS[13] the located hash.
-- ARGV[1] stream id, ARGV[2] token, ARGV[3] ttl ms, ARGV[4] upto, ARGV[5] the epoch or '',
--   ARGV[6] the agent.
local reset = reset_reply(KEYS[6], ARGV[5])
if reset then return reset end
return step()
