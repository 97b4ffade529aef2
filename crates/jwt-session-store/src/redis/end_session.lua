-- Ends one session in one command: its hash, its current access token's key
-- and its index entry. Older access keys of the session are dead with it
-- (a check needs the session too) and expire with their tokens.
-- KEYS: the session, the user's session index.
-- ARGV: the sid, the session's access key prefix (same hash tag, same slot).
-- Returns 1 if the session existed.
local at = redis.call('HGET', KEYS[1], 'at')
if at then redis.call('DEL', ARGV[2] .. at) end
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
