-- Lists the live sessions of a user, dropping index entries of ended ones.
-- KEYS: the user's session index. ARGV: session key prefix of the user, now.
-- Returns sid, device, ip, created, used, family size, expiry for each session.
-- Keys built from ARGV[1] carry the same hash tag, so they share the slot.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
local out = {}
local entries = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #entries, 2 do
  local sid = entries[i]
  local f = redis.call('HMGET', ARGV[1] .. sid, 'device', 'ip', 'created', 'used', 'fam')
  if f[3] then
    table.insert(out, sid)
    for j = 1, 5 do table.insert(out, f[j] or '') end
    table.insert(out, entries[i + 1])
  else
    redis.call('ZREM', KEYS[1], sid)
  end
end
return out
