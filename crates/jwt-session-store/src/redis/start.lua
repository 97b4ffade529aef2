-- Starts a session with its first access token.
-- KEYS: session hash, access token key, the user's session index.
-- ARGV: sid, device, ip, now, access expiry, access jti, refresh jti,
--       idle seconds, absolute seconds.
local now = tonumber(ARGV[4])
local deadline = now + tonumber(ARGV[9])
local expires = math.min(deadline, now + tonumber(ARGV[8]))
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'device', ARGV[2], 'ip', ARGV[3], 'created', now, 'used', now,
  'deadline', deadline, 'rt', ARGV[7], 'prev', '', 'rot_at', 0, 'at', ARGV[6], 'pat', '', 'fam', 1)
redis.call('EXPIREAT', KEYS[1], expires)
redis.call('SET', KEYS[2], ARGV[1], 'EXAT', ARGV[5])
redis.call('ZADD', KEYS[3], expires, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
if last[2] then redis.call('EXPIREAT', KEYS[3], last[2]) end
return 1
