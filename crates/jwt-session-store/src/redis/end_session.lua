-- Ends one session in one command: its hash, the keys of its current and
-- previous access tokens, and its index entry. Older access keys are gone
-- already (each rotation deletes them).
-- KEYS: the session, the user's session index.
-- ARGV: the sid, the session's access key prefix (same hash tag, same slot).
-- Returns 1 if the session existed.
local ids = redis.call('HMGET', KEYS[1], 'at', 'pat')
for _, id in ipairs({ids[1], ids[2]}) do
  if id and id ~= '' then redis.call('DEL', ARGV[2] .. id) end
end
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
