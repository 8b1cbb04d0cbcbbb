-- revoke.lua: POST /api/v1/token/revoke with client_secret_basic. Each thread
-- owns a disjoint slice of a pool of distinct pre-issued tokens and sends each
-- one once; when its slice is used up it stops sending new tokens and
-- counts the shortfall (exhausted), so bench/run can tell a too-small pool
-- from a slow server.
-- wrk args: -- BASIC_B64 POOL_FILE NTHREADS
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local reqs, i, filler = {}, 0, nil
exhausted = 0

-- The requests are formatted once, in init(): formatting one per call cost
-- the load generator (on the same two cores) a few percent of the machine.
function init(args)
	counts = true
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
	wrk.headers["Authorization"] = "Basic " .. args[1]
	for _, t in ipairs(thread_lines(args[2], tid, tonumber(args[3]))) do
		reqs[#reqs + 1] = wrk.format(nil, nil, nil, "token=" .. t)
	end
	filler = wrk.format("GET", "/health", {}, nil)
end

function request()
	i = i + 1
	if i > #reqs then
		-- Out of tokens: a harmless GET that the counters below ignore.
		exhausted = exhausted + 1
		return filler
	end
	return reqs[i]
end

function response(status, headers, body)
	if body:find('"checks"', 1, true) then
		return -- a /health filler request
	end
	if status >= 200 and status < 300 then
		ok = ok + 1
	else
		count_response(status)
	end
end
