-- Shared by every bench script: after the run, one line of JSON that
-- scripts/bench_load.py reads (times in microseconds); and a request
-- function taking prepared requests in turn.

-- A `request` function that answers the entries of `list` in turn, round
-- and round; `list` may be filled later, by `init`.
function in_turn(list)
  local last = 0
  return function()
    last = last % #list + 1
    return list[last]
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"errors_connect":%d,"errors_read":%d,' ..
    '"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"p50_us":%d,"p90_us":%d,' ..
    '"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
