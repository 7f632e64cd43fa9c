-- Shared by the lease steps (the loader puts it before them): who keeps a token out of a lease.
-- A token "<worker> <run>" names its worker; a lease whose worker's liveness record (the alive
-- hash: worker -> "<alive until ms>:<last seen ms>", beat.lua) lapsed is free to take.

-- The store's clock, in milliseconds.
local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Whether worker's liveness record (the alive hash) has not lapsed.
local function worker_alive(alive_key, worker)
  local record = redis.call('HGET', alive_key, worker)
  local alive_until = record and tonumber(string.match(record, '^(%d+)'))
  if not alive_until then return false end
  return alive_until > now_ms()
end

-- Returns blocked (another token holds the lease and its worker is alive, or it names none),
-- the holding token, and the worker no longer alive whose lease is free (or '').
local function lease_holder(lease_key, alive_key, token)
  local held = redis.call('GET', lease_key)
  if not held or held == token then return false, held, '' end
  local worker = string.match(held, '^(%S+) ')
  if worker and not worker_alive(alive_key, worker) then return false, held, worker end
  return true, held, ''
end

-- The reply of a step that another token keeps out: {0, holding token, ms it lasts}.
local function held_reply(lease_key, held)
  return {0, held, redis.call('PTTL', lease_key)}
end
