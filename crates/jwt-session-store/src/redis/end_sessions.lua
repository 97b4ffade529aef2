-- Ends every session of a user but one.
-- KEYS: the user's session index. ARGV: session key prefix of the user, sid to keep ('' for none).
-- Keys built from ARGV[1] carry the same hash tag, so they share the slot.
local ended = 0
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if sid ~= ARGV[2] then
    ended = ended + redis.call('DEL', ARGV[1] .. sid)
    redis.call('ZREM', KEYS[1], sid)
  end
end
return ended
