-- KEYS: queue. ARGV: from path, from query (JSON pairs), now, the new scope (JSON).
-- The top-level scope is the message's last key, so its last `,"s":{` starts it.
local path, now = ARGV[1], tonumber(ARGV[3])
local wanted = pairs_set(ARGV[2])
local items = redis.call('LRANGE', KEYS[1], 0, -1)
local moved = 0
for i, item in ipairs(items) do
  local scope = bound_scope(item, now)
  if scope and admits(scope, path, wanted) then
    local at, from = nil, 1
    while true do
      local found = string.find(item, ',"s":{', from, true)
      if not found then
        break
      end
      at, from = found, found + 1
    end
    if at then
      redis.call('LSET', KEYS[1], i - 1, string.sub(item, 1, at - 1) .. ',"s":' .. ARGV[4] .. '}')
      moved = moved + 1
    end
  end
end
return moved
