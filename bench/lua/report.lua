-- Shared by every wrk script of bench/run.sh: one machine-readable RESULT line at the end.
-- Scripts that count statuses keep a per-thread table `statuses` and register their
-- threads in `report_threads` from setup(); the counts are summed here.

report_threads = {}

function setup(thread)
   thread:set("thread_no", #report_threads + 1)
   table.insert(report_threads, thread)
end

function done(summary, latency, requests)
   local seconds = summary.duration / 1e6
   local e = summary.errors
   local totals = {}
   for _, thread in ipairs(report_threads) do
      local counts = thread:get("statuses")
      if counts then
         for status, n in pairs(counts) do
            totals[status] = (totals[status] or 0) + n
         end
      end
   end
   local keys = {}
   for status in pairs(totals) do table.insert(keys, status) end
   table.sort(keys)
   local parts = {}
   for _, status in ipairs(keys) do
      table.insert(parts, string.format("%d:%d", status, totals[status]))
   end
   local statuses = #parts > 0 and table.concat(parts, ",") or "-"
   io.write(string.format(
      "RESULT requests=%d seconds=%.2f per_s=%.1f p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f " ..
      "max_ms=%.2f non2xx=%d connect_err=%d read_err=%d write_err=%d timeouts=%d " ..
      "statuses=%s\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
      latency:percentile(99) / 1e3, latency.max / 1e3,
      e.status, e.connect, e.read, e.write, e.timeout, statuses))
end
