-- GET /api/v1/subjects/insured/{id}/status?on=… rotating over the paths in $BENCH_PATHS
-- (one path per line), with Authorization: Bearer $BENCH_TOKEN.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
local requests = {}
for path in io.lines(os.getenv("BENCH_PATHS")) do
   requests[#requests + 1] = wrk.format("GET", path)
end
local i = 0

function request()
   i = i % #requests + 1
   return requests[i]
end
