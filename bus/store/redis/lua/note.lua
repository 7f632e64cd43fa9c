-- Keep a receipt note: what went otherwise for an agent with a message (or a range of them).
-- KEYS[1] the stream's notes, KEYS[2] its trimmed list, KEYS[3] its indexed list, KEYS[4] heads.
-- ARGV[1] stream id, ARGV[2] the field ('<first>-<last>\n<agent>'), ARGV[3] the note's JSON.
trim_notes(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[2], ARGV[3])
return 1
