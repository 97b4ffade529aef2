-- Ends every session of a user but one, each with its current and previous
-- access keys.
-- KEYS: the user's session index.
-- ARGV: session key prefix of the user, sid to keep ('' for none), access
-- key prefix of the user.
-- Keys built from ARGV carry the same hash tag, so they share the slot.
local ended = 0
for _, sid in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  if sid ~= ARGV[2] then
    local ids = redis.call('HMGET', ARGV[1] .. sid, 'at', 'pat')
    for _, id in ipairs({ids[1], ids[2]}) do
      if id and id ~= '' then redis.call('DEL', ARGV[3] .. sid .. ':' .. id) end
    end
    ended = ended + redis.call('DEL', ARGV[1] .. sid)
    redis.call('ZREM', KEYS[1], sid)
  end
end
return ended
