-- Shared by take and claim_any (the loader puts it before them): pushed receipts (issue 17).
-- The sender of a log entry "<append ms>:<json>" if handing it over to agent pushes the sender
-- a receipt: it consumes receipts (consumerskey maps it), and the message is no receipt, not
-- from 'bus' and not the agent's own. nil otherwise. With no consumer at all (the key does not
-- exist) nothing is decoded: the check costs one EXISTS.
local function receipt_wanted(consumerskey, entry, agent)
  if redis.call('EXISTS', consumerskey) == 0 then return nil end
  local ok, message = pcall(cjson.decode, string.sub(entry, string.find(entry, ':', 1, true) + 1))
  if not ok or type(message) ~= 'table' then return nil end -- a fence's lost mark, unreadable
  local sender = message.sender
  if type(sender) ~= 'string' or sender == agent or sender == 'bus' or message.type == 'receipt'
  then
    return nil
  end
  if not redis.call('HGET', consumerskey, sender) then return nil end
  return sender
end
