-- Give a lease up if the token holds it, and forget the run's start on the stream's message if
-- the token's run made it: a run that gives its lease up (a worker stopping gracefully) was not
-- lost in a handler, so the next run's takeover counts no failed attempt.
-- KEYS[1] the lease, KEYS[2] the stream's started runs. ARGV[1] token, ARGV[2] the agent.
-- Returns 1.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
local started = redis.call('HGET', KEYS[2], ARGV[2])
if started and string.match(started, '^%d+:%d+:(.*)$') == ARGV[1] then
  redis.call('HDEL', KEYS[2], ARGV[2])
end
return 1
