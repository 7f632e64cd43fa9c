-- Shared by the scripts that write receipt notes (the loader puts it before them).
-- Drop the notes of messages the stream's message-id index no longer keeps: a note's field is
-- '<first seq>-<last seq>\n<agent>'; the oldest indexed seq is the first of the indexed list
-- (or, with none indexed, the head + 1).
local function trim_notes(noteskey, indexedkey, headskey, stream)
  local first = redis.call('LINDEX', indexedkey, 0)
  local oldest
  if first then
    oldest = tonumber(string.match(first, '^(%d+)\n'))
  else
    oldest = tonumber(redis.call('HGET', headskey, stream) or '0') + 1
  end
  for _, field in ipairs(redis.call('HKEYS', noteskey)) do
    local last = tonumber(string.match(field, '^%d+%-(%d+)\n'))
    if last and last < oldest then redis.call('HDEL', noteskey, field) end
  end
end
