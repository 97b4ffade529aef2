-- POST /todo through the whole middleware, with a Bearer access token taken
-- in turn from the file named by the first argument (one token a line).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local requests = {}

function init(args)
  for token in io.lines(args[1]) do
    requests[#requests + 1] = wrk.format("POST", "/todo", {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, '{"title":"benchmark"}')
  end
end

request = in_turn(requests)
