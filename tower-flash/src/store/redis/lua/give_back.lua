-- KEYS: queue, leases. ARGV: lease id, cap, TTL (ms), then optionally the encoded messages
-- to give back (only those the lease still holds, matched by id, written as given).
-- Returns how many went back.
local body = redis.call('HGET', KEYS[2], ARGV[1])
if not body then
  return 0
end
local items = split(body)
local back = {}
if #ARGV > 3 then
  local held = {}
  for i = 2, #items do
    local id = message_id(items[i])
    if id then
      held[id] = i
    end
  end
  local gone = {}
  for a = 4, #ARGV do
    local at = held[message_id(ARGV[a]) or '']
    if at and not gone[at] then
      gone[at] = true
      back[#back + 1] = ARGV[a]
    end
  end
  local rest = {items[1]}
  for i = 2, #items do
    if not gone[i] then
      rest[#rest + 1] = items[i]
    end
  end
  if #rest > 1 then
    redis.call('HSET', KEYS[2], ARGV[1], table.concat(rest, '\n'))
  else
    redis.call('HDEL', KEYS[2], ARGV[1])
  end
else
  redis.call('HDEL', KEYS[2], ARGV[1])
  for i = 2, #items do
    back[#back + 1] = items[i]
  end
end
if #back == 0 then
  return 0
end
push_front(KEYS[1], back, 1)
redis.call('LTRIM', KEYS[1], -tonumber(ARGV[2]), -1)
at_least_ttl(KEYS[1], tonumber(ARGV[3]))
return #back
