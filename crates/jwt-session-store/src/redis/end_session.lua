-- Ends one session in one command (see end_one.lua).
-- KEYS: the session, the user's session index.
-- ARGV: the sid, the session's access key prefix (same hash tag, same slot).
-- Returns 1 if the session existed.
return end_one(KEYS[1], ARGV[2], KEYS[2], ARGV[1])
