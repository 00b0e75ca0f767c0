-- Lua shared by the scripts: the queue is a list of `kind|json` elements; a lease is a hash
-- field whose value is the lease's end (ms) and its elements, joined by newlines (encoded
-- messages never hold a raw newline: JSON escapes it). An element is `kind|{"i":"<16 hex>",
-- …,"s":{"p":…,"q":…,"u":…}}`: the id first, the scope (when set) last; the Rust test
-- `the_encoding_has_the_field_order_the_scripts_rely_on` pins that layout.
local function split(s)
  local out, start = {}, 1
  while true do
    local nl = string.find(s, '\n', start, true)
    if not nl then
      out[#out + 1] = string.sub(s, start)
      return out
    end
    out[#out + 1] = string.sub(s, start, nl - 1)
    start = nl + 1
  end
end
local function push_front(key, items, first)
  for i = #items, first, -1 do
    redis.call('LPUSH', key, items[i])
  end
end
-- The id of an encoded message (`kind|{"i":"<16 hex>",…`): the encoding writes it first.
local function message_id(item)
  return string.match(item, '^[^|]*|{"i":"(%x+)"')
end
local function at_least_ttl(key, ttl)
  if redis.call('PTTL', key) < ttl then
    redis.call('PEXPIRE', key, ttl)
  end
end
local function pairs_set(json)
  local set = {}
  for _, pair in ipairs(cjson.decode(json)) do
    set[pair[1] .. '\0' .. pair[2]] = true
  end
  return set
end
-- The scope of a message that is bound (not fallen back) at `now`, or nil.
local function bound_scope(item, now)
  if not string.find(item, '"s":{', 1, true) then
    return nil
  end
  local bar = string.find(item, '|', 1, true)
  local ok, m = pcall(cjson.decode, string.sub(item, bar + 1))
  if ok and type(m.s) == 'table' and now < m.s.u then
    return m.s
  end
  return nil
end
local function admits(scope, path, wanted)
  if scope.p ~= path then
    return false
  end
  for _, pair in ipairs(scope.q or {}) do
    if not wanted[pair[1] .. '\0' .. pair[2]] then
      return false
    end
  end
  return true
end
