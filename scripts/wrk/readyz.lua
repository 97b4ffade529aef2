-- A second reference: GET /readyz, no token, one store round trip (PING).
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
wrk.method = "GET"
wrk.path = "/readyz"
