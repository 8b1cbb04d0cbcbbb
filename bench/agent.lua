-- agent.lua: GET /api/v1/agents/{id} with a bearer token (agents:read).
-- wrk args: -- TOKEN
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

-- No response() callback (see introspect.lua); wrk counts non-2xx itself.
function init(args)
	wrk.method = "GET"
	wrk.headers["Authorization"] = "Bearer " .. args[1]
end
