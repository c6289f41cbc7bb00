-- POST /api/auth/login with the correct password of the account named by the arguments
-- (username, password). A static request: no per-request Lua.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

function init(args)
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.body = string.format('{"username":"%s","password":"%s"}', args[1], args[2])
end
