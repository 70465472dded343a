-- Callback intake: POST /payments/callback/ligdicash/ with the body Ligdicash
-- documents, for existing attempts (BENCH_PAYMENTS: "reference<TAB>token<TAB>amount").
-- Half the deliveries are new, half are duplicates (the "completed" callback
-- of the first few attempts: stored once, then answered 200 "duplicate").
-- Ligdicash's event id is our reference and the status (not the date), so a
-- new delivery is a (attempt, status) pair not sent before: each attempt in
-- turn, then again with the next of the statuses Ligdicash sends.
dofile("bench/common.lua")

local payments = {}
local counter = 0
local base = 1700000000 + (tonumber(os.getenv("BENCH_SEQ") or "0") * 10000000)
local dup_pool = 8
local statuses = { "pending", "nocompleted", "completed" }

function init(args)
  for _, line in ipairs(read_lines(os.getenv("BENCH_PAYMENTS"))) do
    local ref, token, amount = line:match("^([^\t]+)\t([^\t]+)\t([^\t]+)$")
    payments[#payments + 1] = { ref = ref, token = token, amount = amount }
  end
end

local function body(p, date, status)
  return '{"date":"' .. date .. '","method":"post","response_code":"00","response_text":null,' ..
    '"token":"' .. p.token .. '","montant":"' .. p.amount .. '","status":"' .. status .. '",' ..
    '"custom_data":[{"id_invoice":29505444,"keyof_customdata":"order_id","valueof_customdata":"bench"},' ..
    '{"id_invoice":29505444,"keyof_customdata":"transaction_id","valueof_customdata":"' .. p.ref .. '"}],' ..
    '"operator_name":"ORANGE BURKINA","operator_id":"11","transaction_id":"' .. p.ref .. '","external_id":null,' ..
    '"url":"http://127.0.0.1/payments/callback/ligdicash/","hash":"8bd5dc60ef2d75641fa311fbb44c5067e0040a17"}'
end

function request()
  local i = counter
  counter = counter + 1
  local p, date, status
  if i % 2 == 0 then
    local n = (i / 2) * nthreads + tid -- unique across threads and requests
    p = payments[n % #payments + 1]
    status = statuses[math.floor(n / #payments) % #statuses + 1]
    date = os.date("!%Y-%m-%d %H:%M:%S+00", base + n)
  else
    local n = ((i - 1) / 2) * nthreads + tid
    p = payments[n % math.min(dup_pool, #payments) + 1]
    status = "completed"
    date = "2023-10-29 09:46:27+00"
  end
  return wrk.format("POST", "/payments/callback/ligdicash/", {
    ["Host"] = wrk.headers["Host"],
    ["Content-Type"] = "application/json",
  }, body(p, date, status))
end
