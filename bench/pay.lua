-- Payment start: POST /payments/pay/<order token>/ choosing the Ligdicash
-- hosted page. Each request uses an order that has no attempt yet (BENCH_TOKENS,
-- one token a line), so each creates one Payment and makes one call to the
-- local Ligdicash stub (create endpoint), then redirects to the stub's link.
dofile("bench/common.lua")

local tokens = {}
local counter = 0
local csrf = os.getenv("BENCH_CSRF")

function init(args)
  tokens = read_lines(os.getenv("BENCH_TOKENS"))
end

function request()
  local token = tokens[(counter * nthreads + tid) % #tokens + 1]
  counter = counter + 1
  return wrk.format("POST", "/payments/pay/" .. token .. "/", {
    ["Host"] = wrk.headers["Host"],
    ["Cookie"] = "csrftoken=" .. csrf,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, "csrfmiddlewaretoken=" .. csrf .. "&choice=ligdicash%3Ahosted")
end
