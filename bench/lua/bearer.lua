-- GET the URL's path with `Authorization: Bearer <token>`, cycling through the access
-- tokens in the file named by the first script argument (one per line), so requests are
-- spread over many sessions. Requests are formatted once in init(), so the per-request Lua
-- cost is one table lookup; the bare-handler ceiling runs the same script.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

function init(args)
   reqs = {}
   for token in io.lines(args[1]) do
      if #token > 0 then
         table.insert(reqs, wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token }))
      end
   end
   i = thread_no or 1
end

function request()
   i = i % #reqs + 1
   return reqs[i]
end
