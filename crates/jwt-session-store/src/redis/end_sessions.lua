-- Ends every session of a user but one (see end_one.lua).
-- KEYS: the user's session index.
-- ARGV: session key prefix of the user, sid to keep ('' for none), access
-- key prefix of the user.
-- Keys built from ARGV carry the same hash tag, so they share the slot.
local ended = 0
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if sid ~= ARGV[2] then
    ended = ended + end_one(ARGV[1] .. sid, ARGV[3] .. sid .. ':', KEYS[1], sid)
  end
end
return ended
