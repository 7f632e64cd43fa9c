-- A worker stopped: not alive from now on; its record stays (last seen).
-- KEYS[1] the workers' liveness (worker -> "<alive until ms>:<last seen ms>").
-- ARGV[1] worker.
-- Returns 1.
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  redis.call('HSET', KEYS[1], ARGV[1], now .. ':' .. now)
end
return 1
