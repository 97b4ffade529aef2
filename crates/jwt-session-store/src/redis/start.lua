-- Starts a session with its first access token, then ends the user's
-- sessions nearest to their end beyond the most allowed (see end_one.lua);
-- returns their sids.
-- KEYS: session hash, access token key, the user's session index.
-- ARGV: sid, device, ip, now, access expiry, access jti, refresh jti,
--       idle seconds, absolute seconds, most sessions (0: no limit),
--       session key prefix of the user, access key prefix of the user.
-- Keys built from ARGV carry the same hash tag, so they share the slot.
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
local ended = {}
local most = tonumber(ARGV[10])
local over = redis.call('ZCARD', KEYS[3]) - most
if most > 0 and over > 0 then
  -- The index is ordered by expiry: the first ones end soonest.
  for _, sid in ipairs(redis.call('ZRANGE', KEYS[3], 0, over)) do
    if #ended < over and sid ~= ARGV[1] then
      end_one(ARGV[11] .. sid, ARGV[12] .. sid .. ':', KEYS[3], sid)
      ended[#ended + 1] = sid
    end
  end
end
local last = redis.call('ZRANGE', KEYS[3], -1, -1, 'WITHSCORES')
if last[2] then redis.call('EXPIREAT', KEYS[3], last[2]) end
return ended
