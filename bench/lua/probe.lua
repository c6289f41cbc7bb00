-- A slow prober: like bearer.lua, but waits `delay_ms` (second argument, default 50) between
-- requests on each connection, so it measures the protected route's latency while another
-- load runs without adding load of its own. Counts statuses.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

function init(args)
   reqs = {}
   for token in io.lines(args[1]) do
      if #token > 0 then
         table.insert(reqs, wrk.format("GET", nil, { ["Authorization"] = "Bearer " .. token }))
      end
   end
   pause = tonumber(args[2] or "50")
   i = 0
   statuses = {}
end

function request()
   i = i % #reqs + 1
   return reqs[i]
end

function delay()
   return pause
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end
