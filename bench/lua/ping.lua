-- GET /ping: the hello-world baseline (the URL given to wrk is used as is).
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")
