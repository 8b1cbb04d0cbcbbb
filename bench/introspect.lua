-- introspect.lua: POST /api/v1/token/introspect as a bearer caller holding
-- tokens:introspect, cycling through a pool of valid tokens.
-- wrk args: -- CALLER_TOKEN POOL_FILE
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local bodies, i = {}, 0

-- No response() callback: wrk then never hands bodies to Lua, which cost it
-- a good part of a core at these rates. Non-2xx answers are still counted
-- (wrk's own status errors).
function init(args)
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
