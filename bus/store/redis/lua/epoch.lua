-- Shared by the scripts that append and hand messages over (the loader puts it before them).
-- The epoch key holds a random id written when a bus first used the namespace; a store that
-- lost its state has none (or another), so the caller's view of channels, members and
-- positions is gone: the script does nothing and says so.

-- An error reply 'BUSRESET <epoch found, or nothing>' if the epoch at epochkey is not expected;
-- nil if it is, or if the caller knows no epoch ('').
local function reset_reply(epochkey, expected)
  if expected == '' then return nil end
  local found = redis.call('GET', epochkey)
  if found == expected then return nil end
  return redis.error_reply('BUSRESET ' .. (found or ''))
end
