-- common.lua: shared by the wrk scripts of bench/run.
-- Each wrk thread gets a number (tid) in setup(); done() sums the per-thread
-- counters and prints one line "BENCH {json}" that bench/run parses.
-- Latencies are in microseconds, as wrk keeps them.

local threads = {}
local nthreads = 0

function setup(thread)
	thread:set("tid", nthreads)
	nthreads = nthreads + 1
	table.insert(threads, thread)
end

-- Paced load (bench/run's half-rate rows): with BENCH_PACE_MS set, each
-- connection waits an exponentially distributed pause of that mean before
-- each request, so many connections together offer a Poisson-like rate that
-- does not depend on how fast the answers come (wrk alone is closed-loop:
-- every connection sends again the moment it is answered, which keeps the
-- server saturated at any connection count). Defined only when asked for:
-- wrk schedules a timer for every request once delay() exists.
local pace_ms = tonumber(os.getenv("BENCH_PACE_MS") or "")
if pace_ms then
	local seeded = false
	function delay()
		if not seeded then
			math.randomseed(os.time() * 100 + (tid or 0))
			seeded = true
		end
		return math.floor(-pace_ms * math.log(1 - math.random()) + 0.5)
	end
end

ok = 0      -- 2xx responses seen by response()
bad = 0     -- other responses seen by response()
codes = ""  -- statuses of the first non-2xx responses, for the report

-- Count a response (scripts without their own bookkeeping call this).
function count_response(status)
	if status >= 200 and status < 300 then
		ok = ok + 1
	else
		bad = bad + 1
		if bad <= 20 then
			codes = codes .. " " .. status
		end
	end
end

-- Read the lines of path that belong to thread tid of n (round robin), so
-- that no two threads ever send the same line.
function thread_lines(path, tid, n)
	local lines, i = {}, 0
	for line in io.lines(path) do
		if i % n == tid then
			lines[#lines + 1] = line
		end
		i = i + 1
	end
	return lines
end

function done(summary, latency, requests)
	local okn, badn, exh, counted, allcodes = 0, 0, 0, false, ""
	for _, t in ipairs(threads) do
		local o, b = t:get("ok"), t:get("bad")
		if t:get("counts") then
			counted = true
		end
		okn = okn + (o or 0)
		badn = badn + (b or 0)
		exh = exh + (t:get("exhausted") or 0)
		allcodes = allcodes .. (t:get("codes") or "")
	end
	local e = summary.errors
	io.write(string.format(
		'BENCH {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
		'"counted":%s,"ok":%d,"bad":%d,"err_connect":%d,"err_read":%d,"err_write":%d,' ..
		'"err_status":%d,"err_timeout":%d,"exhausted":%d,"codes":"%s"}\n',
		summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
		latency:percentile(99), latency.max, tostring(counted), okn, badn, e.connect, e.read,
		e.write, e.status, e.timeout, exh, allcodes))
end
