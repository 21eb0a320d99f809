-- POST /api/v1/status/batch rotating over the JSON bodies in $BENCH_BODIES (one body per line,
-- 1000 subjects each), with Authorization: Bearer $BENCH_TOKEN.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local token = os.getenv("BENCH_TOKEN")
local requests = {}
for body in io.lines(os.getenv("BENCH_BODIES")) do
   local headers = {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json"}
   requests[#requests + 1] = wrk.format("POST", "/api/v1/status/batch", headers, body)
end
local i = 0

function request()
   i = i % #requests + 1
   return requests[i]
end
