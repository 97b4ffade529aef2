-- Trades the refresh token ARGV[1] for its successor, or says why not.
-- KEYS: session hash, successor access token key, the user's session index.
-- ARGV: presented jti, now, grace seconds, successor refresh jti,
--       successor access jti, successor access expiry, idle seconds,
--       reuse policy, access key prefix of the session, sid.
-- Keys built from ARGV[9] carry the same hash tag, so they share the slot.
local s = KEYS[1]
local f = redis.call('HMGET', s, 'rt', 'prev', 'rot_at', 'deadline', 'at', 'pat')
if not f[4] then return {'gone', 0} end
local rt, prev, rot_at, deadline, at = f[1], f[2], tonumber(f[3]), tonumber(f[4]), f[5]
local pat = f[6]
local presented, now = ARGV[1], tonumber(ARGV[2])

if rt ~= '' and presented == rt then
  local expires = math.min(deadline, now + tonumber(ARGV[7]))
  -- The access token before the current one stays live until it expires
  -- (a client may still hold it); any older one ends here, so a session
  -- has at most two live access keys however often it refreshes.
  if pat and pat ~= '' then redis.call('DEL', ARGV[9] .. pat) end
  redis.call('HSET', s, 'rt', ARGV[4], 'prev', presented, 'rot_at', now, 'used', now,
    'at', ARGV[5], 'pat', at or '')
  redis.call('HINCRBY', s, 'fam', 1)
  redis.call('EXPIREAT', s, expires)
  redis.call('SET', KEYS[2], ARGV[10], 'EXAT', ARGV[6])
  redis.call('ZADD', KEYS[3], expires, ARGV[10])
  local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
  if last[2] then redis.call('EXPIREAT', KEYS[3], last[2]) end
  return {'rotated', now}
end

if rt ~= '' and presented == prev and now - rot_at <= tonumber(ARGV[3]) then
  return {'replayed', rot_at}
end

local policy = ARGV[8]
if policy == 'revoke-session' then
  redis.call('DEL', s)
  redis.call('ZREM', KEYS[3], ARGV[10])
elseif policy == 'revoke-successor' then
  redis.call('HSET', s, 'rt', '')
  redis.call('DEL', ARGV[9] .. at)
end
return {'reused', 0}
