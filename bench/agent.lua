-- agent.lua: GET /api/v1/agents/{id} with a bearer token (agents:read).
-- wrk args: -- TOKEN
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

function init(args)
	counts = true
	wrk.method = "GET"
	wrk.headers["Authorization"] = "Bearer " .. args[1]
end

function response(status, headers, body)
	count_response(status)
end
