-- status.lua, paced: each connection waits BENCH_DELAY_MS (whole milliseconds: wrk's timer) before each
-- request, so the offered rate is about connections / (delay + latency) instead of as fast as possible.
dofile(os.getenv("BENCH_LUA_DIR") .. "/status.lua")
local pause = tonumber(os.getenv("BENCH_DELAY_MS") or "1")

function delay()
   return pause
end
