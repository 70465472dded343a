-- Checkout submit: POST /commande/ with a valid CSRF cookie + token and a cart
-- session cookie. BENCH_CARTS is a file of "cookie-header<TAB>csrf-token"
-- lines, one server-side session with a cart of 5 products (huge stock) each:
-- a checkout empties its cart, so every request takes the next session and
-- creates one order. Its checkout_key was never issued to that session, so it
-- is ignored (the double-submit guard only trusts keys the session was given).
dofile("bench/common.lua")

local carts = {}
local counter = 0

function init(args)
  for _, line in ipairs(read_lines(os.getenv("BENCH_CARTS"))) do
    local cookie, csrf = line:match("^([^\t]+)\t([^\t]+)$")
    carts[#carts + 1] = { cookie = cookie, csrf = csrf }
  end
end

function request()
  local cart = carts[(counter * nthreads + tid) % #carts + 1]
  local key = string.format("bench-%s-%d-%09d", run, tid, counter)
  counter = counter + 1
  local body = "csrfmiddlewaretoken=" .. cart.csrf ..
    "&full_name=Awa+Ou%C3%A9draogo&email=awa%40example.bf&country=BF&phone=70+12+34+56" ..
    "&address=Secteur+15%2C+Ouagadougou&note=&checkout_key=" .. key
  return wrk.format("POST", "/commande/", {
    ["Host"] = wrk.headers["Host"],
    ["Cookie"] = cart.cookie,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }, body)
end
