-- KEYS: queue, leases. ARGV: kind prefix ('' for all), now, target path ('' when not
-- scoping), target query (JSON pairs), lease id ('' to delete), lease end, TTL (ms), the
-- leases' TTL (ms: what is left of the lease plus a TTL).
local queue, leases = KEYS[1], KEYS[2]
local prefix, now, path, lease = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[5]
local ttl = tonumber(ARGV[7])
if lease ~= '' then
  local all = redis.call('HGETALL', leases)
  local expired = {}
  for i = 1, #all, 2 do
    local body = all[i + 1]
    local nl = string.find(body, '\n', 1, true)
    if nl and tonumber(string.sub(body, 1, nl - 1)) <= now then
      expired[#expired + 1] = {all[i], body}
    end
  end
  if #expired > 0 then
    -- Newest lease first to the front, so that the oldest ends up first.
    table.sort(expired, function(a, b) return a[1] > b[1] end)
    for _, e in ipairs(expired) do
      push_front(queue, split(e[2]), 2)
      redis.call('HDEL', leases, e[1])
    end
    at_least_ttl(queue, ttl)
  end
end
local wanted = nil
if path ~= '' then
  wanted = pairs_set(ARGV[4])
end
local items = redis.call('LRANGE', queue, 0, -1)
local taken, kept = {}, {}
for _, item in ipairs(items) do
  local ok = prefix == '' or string.sub(item, 1, #prefix) == prefix
  if ok and wanted then
    local scope = bound_scope(item, now)
    if scope and not admits(scope, path, wanted) then
      ok = false
    end
  end
  if ok then
    taken[#taken + 1] = item
  else
    kept[#kept + 1] = item
  end
end
if #taken == 0 then
  return taken
end
local queue_ttl = redis.call('PTTL', queue)
redis.call('DEL', queue)
for i = 1, #kept, 1000 do
  redis.call('RPUSH', queue, unpack(kept, i, math.min(i + 999, #kept)))
end
if #kept > 0 and queue_ttl > 0 then
  redis.call('PEXPIRE', queue, queue_ttl)
end
if lease ~= '' then
  local held = redis.call('HGET', leases, lease)
  local body = table.concat(taken, '\n')
  if held then
    body = held .. '\n' .. body
  else
    body = ARGV[6] .. '\n' .. body
  end
  redis.call('HSET', leases, lease, body)
  -- Leased messages must outlive their lease by a full TTL, whatever the two durations:
  -- a process that dies holding them gives them back only when the lease ends.
  at_least_ttl(leases, tonumber(ARGV[8]))
end
return taken
