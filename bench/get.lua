-- GET pages (the URL is wrk's argument); optional session cookie from BENCH_COOKIE.
dofile("bench/common.lua")
