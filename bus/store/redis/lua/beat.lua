-- A worker is alive for ttl ms more (the store's clock) and hosts the given agents; records
-- that lapsed more than keep ms ago are forgotten.
-- KEYS[1] the workers' liveness (worker -> "<alive until ms>:<last seen ms>"),
--   KEYS[2] the workers' agents (worker -> JSON list).
-- ARGV[1] worker, ARGV[2] ttl ms, ARGV[3] agents (JSON), ARGV[4] keep ms, ARGV[5] recent ms.
-- Returns {worker, 1 (alive) or 0, ...} for the workers alive now and those whose record lapsed
-- less than recent ms ago.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('HSET', KEYS[1], ARGV[1], (now + tonumber(ARGV[2])) .. ':' .. now)
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local records = redis.call('HGETALL', KEYS[1])
local forget, recent = now - tonumber(ARGV[4]), now - tonumber(ARGV[5])
local reply = {}
for i = 1, #records, 2 do
  local alive_until = tonumber(string.match(records[i + 1], '^(%d+)'))
  if alive_until >= recent then
    reply[#reply + 1] = records[i]
    reply[#reply + 1] = alive_until > now and 1 or 0
  elseif alive_until < forget then
    redis.call('HDEL', KEYS[1], records[i])
    redis.call('HDEL', KEYS[2], records[i])
  end
end
return reply
