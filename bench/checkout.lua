-- Checkout submit: POST /commande/ with a valid CSRF cookie + token and a cart
-- session cookie. BENCH_CARTS is a file of "cookie-header<TAB>csrf-token"
-- lines (carts of 5 products with a huge stock, built by a scripted
-- add-to-cart). Every request carries a new checkout_key, so every request
-- creates one order (the key is the double-submit guard, I-6).
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
