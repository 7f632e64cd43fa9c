-- Shared by the scripts that append and hand messages over (the loader puts it before them).
-- The epoch key holds a random id written when a bus first used the namespace; a store that
-- lost its state has none (or another), so the caller's view of channels, members and
-- positions is gone: the script does nothing and says so.

-- An error reply 'BUSRESET <epoch found, or nothing>' if the epoch at epochkey is not expected;
-- nil if it is, or if the caller knows no epoch (''). 'BUSREPLICA' instead when this server is
-- a replica: a client that reached it (an old master back as a replica, still syncing, found
-- by a sentinel that had not heard of the failover yet) read a dataset that is not the store's.
local function reset_reply(epochkey, expected)
  if expected == '' then return nil end
  local found = redis.call('GET', epochkey)
  if found == expected then return nil end
  if string.find(redis.call('INFO', 'replication'), 'role:slave', 1, true) then
    return redis.error_reply('BUSREPLICA')
  end
  return redis.error_reply('BUSRESET ' .. (found or ''))
end
