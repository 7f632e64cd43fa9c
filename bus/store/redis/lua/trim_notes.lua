-- Shared by the scripts that write receipt notes (the loader puts it before them).
-- Drop the notes of messages the stream's message index no longer keeps: a note's field is
-- '<first seq>-<last seq>\n<agent>'; the oldest indexed seq is the first of the trimmed list
-- ('<seq> <id>'), or else the first the indexed list covers (head + 1 - its length).
local function trim_notes(noteskey, trimmedkey, indexedkey, headskey, stream)
  local first = redis.call('LINDEX', trimmedkey, 0)
  local oldest
  if first then
    oldest = tonumber(string.match(first, '^(%d+) '))
  else
    oldest = tonumber(redis.call('HGET', headskey, stream) or '0') + 1
      - redis.call('LLEN', indexedkey)
  end
  for _, field in ipairs(redis.call('HKEYS', noteskey)) do
    local last = tonumber(string.match(field, '^%d+%-(%d+)\n'))
    if last and last < oldest then redis.call('HDEL', noteskey, field) end
  end
end
