-- Retained entries of a stream, oldest first, filtered.
-- KEYS[1] heads, KEYS[2] the stream's log.
-- ARGV[1] stream id, ARGV[2] after seq or '', ARGV[3] since ms or '', ARGV[4] newest or ''.
-- Returns {seq of the first, entry...}, or {} if none.
-- Append times do not go back, so a binary search on the stamp finds ``since``; ``after``
-- is index arithmetic.
local n = redis.call('LLEN', KEYS[2])
if n == 0 then return {} end
local head = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
local first = head - n + 1
local start = 0
if ARGV[2] ~= '' then start = math.max(0, tonumber(ARGV[2]) + 1 - first) end
if ARGV[3] ~= '' and start < n then
  local since = tonumber(ARGV[3])
  local lo, hi = start, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local entry = redis.call('LINDEX', KEYS[2], mid)
    if tonumber(string.sub(entry, 1, string.find(entry, ':', 1, true) - 1)) < since then
      lo = mid + 1
    else
      hi = mid
    end
  end
  start = lo
end
if ARGV[4] ~= '' then start = math.max(start, n - tonumber(ARGV[4])) end
if start >= n then return {} end
local out = redis.call('LRANGE', KEYS[2], start, -1)
table.insert(out, 1, first + start)
return out
