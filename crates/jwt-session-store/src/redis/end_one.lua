-- Shared by the scripts that end sessions (prepended to each): deletes one
-- session's hash, the keys of its current and previous access tokens (older
-- ones are gone already: each rotation deletes them) and its entry in the
-- user's index. Returns 1 if the session existed.
-- session_key and index carry the user's hash tag, as access_prefix does.
local function end_one(session_key, access_prefix, index, sid)
  local ids = redis.call('HMGET', session_key, 'at', 'pat')
  for _, id in ipairs({ids[1], ids[2]}) do
    if id and id ~= '' then redis.call('DEL', access_prefix .. id) end
  end
  redis.call('ZREM', index, sid)
  return redis.call('DEL', session_key)
end

