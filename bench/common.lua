-- Shared by every bench script (loaded with dofile from the repository root).
-- BENCH_COOKIE: a Cookie header to send (the cart page's session).
-- done() prints one machine-readable line that bench/run.py reads (p95 is not
-- in wrk's own --latency table).
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

-- Thread ids (0, 1, …) for scripts that spread their requests over data.
local created = 0
function setup(thread)
  thread:set("tid", created)
  created = created + 1
end

nthreads = tonumber(os.getenv("BENCH_THREADS") or "2")
run = os.getenv("BENCH_RUN") or "r"

function read_lines(path)
  local lines = {}
  for line in io.lines(path) do
    if line ~= "" then lines[#lines + 1] = line end
  end
  return lines
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d,' ..
    '"p50_us":%d,"p75_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean))
end
