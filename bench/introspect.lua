-- introspect.lua: POST /api/v1/token/introspect as a bearer caller holding
-- tokens:introspect, cycling through a pool of valid tokens.
-- wrk args: -- CALLER_TOKEN POOL_FILE
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local bodies, i = {}, 0

function init(args)
	counts = true
	for _, t in ipairs(thread_lines(args[2], 0, 1)) do
		bodies[#bodies + 1] = "token=" .. t
	end
	i = tid
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
	wrk.headers["Authorization"] = "Bearer " .. args[1]
end

function request()
	i = i % #bodies + 1
	return wrk.format(nil, nil, nil, bodies[i])
end

function response(status, headers, body)
	count_response(status)
end
