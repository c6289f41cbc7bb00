-- A login flood with wrong passwords. Arguments: mode, then for "single" a username.
--   botnet: every request names a random unknown account and comes (per X-Forwarded-For,
--           believed because the server trusts 127.0.0.1 as a proxy) from a random address,
--           as credential stuffing from many machines does: no throttle key repeats, so every
--           request costs a full Argon2id verification unless the hashing queue is full.
--   single: one account, one address (a fixed X-Forwarded-For): the throttle answers 429
--           after a few failures, without hashing.
-- Counts statuses per thread.
dofile(os.getenv("BENCH_LUA") .. "/report.lua")

function init(args)
   mode = args[1] or "botnet"
   username = args[2] or "victim"
   statuses = {}
   math.randomseed(os.time() * 1000 + (thread_no or 1))
   fixed = wrk.format("POST", "/api/auth/login", {
      ["Content-Type"] = "application/json",
      ["X-Forwarded-For"] = "198.51.100.7",
   }, string.format('{"username":"%s","password":"wrong-password-000"}', username))
end

function request()
   if mode == "single" then
      return fixed
   end
   local ip = string.format("100.%d.%d.%d", math.random(64, 127), math.random(0, 255),
                            math.random(1, 254))
   local body = string.format('{"username":"nobody%d","password":"wrong-password-%d"}',
                              math.random(1, 1000000000), math.random(1, 1000000))
   return wrk.format("POST", "/api/auth/login", {
      ["Content-Type"] = "application/json",
      ["X-Forwarded-For"] = ip,
   }, body)
end

function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end
