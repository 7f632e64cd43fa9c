-- Give a lease up if the token holds it.
-- KEYS[1] the lease. ARGV[1] token.
-- Returns 1.
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
