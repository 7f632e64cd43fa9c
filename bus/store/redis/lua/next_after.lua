-- Shared by the claim and lease scripts (the loader puts it before them).
-- A log holds the entries "<append ms>:<json>" of contiguous seqs, the newest being the
-- stream's head, so the entry of seq s sits at index s - (head - LLEN + 1).

-- The first retained entry after seq pos of the log at logkey, and its seq; nil if none.
local function next_after(logkey, head, pos)
  if head <= pos then return nil end
  local n = redis.call('LLEN', logkey)
  if n == 0 then return nil end
  local first = head - n + 1
  local want = math.max(pos + 1, first)
  return redis.call('LINDEX', logkey, want - first), want
end

-- The append time of an entry.
local function stamp_of(entry)
  return tonumber(string.sub(entry, 1, string.find(entry, ':', 1, true) - 1))
end
