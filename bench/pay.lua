-- Payment start: POST to an order's payment page (whatever
-- reverse("payments:pay") gives, e.g. /paiement/<order token>/) choosing the
-- Ligdicash hosted page. Each request uses an order that has no attempt yet
-- (BENCH_TOKENS: one payment page path a line, written by bench/data.py), so
-- each creates one Payment and makes one call to the local Ligdicash stub
-- (create endpoint), then redirects to the stub's link.
dofile("bench/common.lua")

local paths = {}
local counter = 0
local csrf = os.getenv("BENCH_CSRF")

function init(args)
  paths = read_lines(os.getenv("BENCH_TOKENS"))
end

function request()
  local path = paths[(counter * nthreads + tid) % #paths + 1]
  counter = counter + 1
  return wrk.format("POST", path, {
    ["Host"] = wrk.headers["Host"],
    ["Cookie"] = "csrftoken=" .. csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "csrfmiddlewaretoken=" .. csrf .. "&choice=ligdicash%3Ahosted")
end
