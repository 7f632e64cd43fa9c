-- Extend a lease the token still holds (never take a free one).
-- KEYS[1] the lease. ARGV[1] token, ARGV[2] ttl ms.
-- Returns 1, or 0 if the token does not hold it.
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
