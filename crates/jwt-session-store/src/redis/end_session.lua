-- Ends one session in one command.
-- KEYS: the session, the user's session index. ARGV: the sid.
-- Returns 1 if the session existed.
redis.call('ZREM', KEYS[2], ARGV[1])
return redis.call('DEL', KEYS[1])
