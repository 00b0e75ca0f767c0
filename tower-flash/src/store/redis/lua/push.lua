-- KEYS: queue. ARGV: which end ('R' appends; 'L' puts the elements at the front, each at the
-- head in turn, so the caller sends them in reverse order), the cap (max_messages), the TTL
-- (ms), then the encoded messages (at least one).
-- One script, so that a push and its cap and TTL apply together, as MULTI did: no take ever
-- sees more than the cap, and no key is left without its TTL by a broken connection. The
-- trim runs only when the push went over the cap: a push then costs Redis 2 commands and
-- the script call, against MULTI RPUSH LTRIM PEXPIRE EXEC.
local queue = KEYS[1]
local push = 'RPUSH'
if ARGV[1] == 'L' then
  push = 'LPUSH'
end
local len = 0
-- In slices: unpack puts every value on Lua's stack, which holds a few thousand.
for first = 4, #ARGV, 1000 do
  len = redis.call(push, queue, unpack(ARGV, first, math.min(first + 999, #ARGV)))
end
if len > tonumber(ARGV[2]) then
  redis.call('LTRIM', queue, '-' .. ARGV[2], -1)
end
redis.call('PEXPIRE', queue, ARGV[3])
return len
