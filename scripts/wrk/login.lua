-- POST /login with the tokens in the body, taking the users of the file named
-- by the first argument (`name password` a line) in turn, so that no user has
-- more than one attempt in flight and no throttle is reached.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
local requests = {}

function init(args)
  for line in io.lines(args[1]) do
    local name, password = line:match("^(%S+) (%S+)$")
    requests[#requests + 1] = wrk.format("POST", "/login",
      { ["Content-Type"] = "application/json" },
      string.format('{"username":"%s","password":"%s","token_delivery":"body"}', name, password))
  end
end

request = in_turn(requests)
