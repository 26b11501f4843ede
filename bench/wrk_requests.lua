-- wrk script of bench/sharing.py's online-query run: replays pre-built requests (each signed with its own nonce,
-- so none is a replay) from the file named by the first script argument; thread k of n takes lines k, k+n, ….
-- Building requests in init() keeps wrk's per-request cost at a table lookup (wrk's own advice for fast servers).
-- done() prints one machine-readable line: requests, duration (µs), non-2xx/3xx, socket errors, p50/p90/p99 (µs).

local threads, counter = {}, 0

function setup(thread)
   counter = counter + 1
   thread:set("id", counter)
   table.insert(threads, thread)
end

function init(args)
   local path, nthreads = args[1], tonumber(args[2])
   requests, n = {}, 0
   local i = 0
   for line in io.lines(path) do
      if i % nthreads == id - 1 then
         local target, rest = line:match("^([^\t]*)\t?(.*)$")
         local headers = {}
         for name, value in rest:gmatch("([^\t:]+): ([^\t]*)") do
            headers[name] = value
         end
         requests[#requests + 1] = wrk.format("GET", target, headers)
      end
      i = i + 1
   end
end

function request()
   n = n + 1
   if n > #requests then
      n = 1  -- out of fresh requests: the replays answer 401 and are counted as errors
   end
   return requests[n]
end

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format("WRK %d %d %d %d %d %d %d\n", summary.requests, summary.duration, e.status,
      e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(90),
      latency:percentile(99)))
end
