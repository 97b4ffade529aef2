-- POST /token/refresh with the refresh token in the body. Each answer's
-- successor goes back in the queue, so every token is used exactly once, as
-- a client does; the file named by the first argument holds more live
-- refresh tokens (one a line) than there are connections.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local queue = {}
local first, last = 1, 0

local function push(token)
  last = last + 1
  queue[last] = token
end

function init(args)
  for token in io.lines(args[1]) do push(token) end
end

function request()
  local token = queue[first]
  if token == nil then
    -- Every token is in flight or was lost to an error: answer the error
    -- count rather than replaying a token (a replay ends its session).
    return wrk.format("POST", "/token/refresh", { ["Content-Type"] = "application/json" }, "{}")
  end
  queue[first] = nil
  first = first + 1
  return wrk.format("POST", "/token/refresh", { ["Content-Type"] = "application/json" },
    '{"refresh_token":"' .. token .. '"}')
end

function response(status, headers, body)
  local token = body:match('"refresh_token":"([^"]+)"')
  if status == 201 and token then push(token) end
end
