-- GET /me: the middleware alone (token, verification, the store's check),
-- with no store work of the route's own; a Bearer access token taken in turn
-- from the file named by the first argument (one token a line).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local requests = {}

function init(args)
  for token in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("GET", "/me", {
      ["Authorization"] = "Bearer " .. token,
    })
  end
end

request = in_turn(requests)
