-- The ceiling: GET /healthz, which touches neither a token nor the store.
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")
wrk.method = "GET"
wrk.path = "/healthz"
