-- introspect.lua: POST /api/v1/token/introspect as a bearer caller holding
-- tokens:introspect, cycling through a pool of valid tokens.
-- wrk args: -- CALLER_TOKEN POOL_FILE
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local reqs, i = {}, 0

-- No response() callback: wrk then never hands bodies to Lua, which cost it
-- a good part of a core at these rates. Non-2xx answers are still counted
-- (wrk's own status errors).
-- The requests are formatted once, in init() (see revoke.lua).
function init(args)
	wrk.method = "POST"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
	wrk.headers["Authorization"] = "Bearer " .. args[1]
	for _, t in ipairs(thread_lines(args[2], 0, 1)) do
		reqs[#reqs + 1] = wrk.format(nil, nil, nil, "token=" .. t)
	end
	i = tid
end

function request()
	i = i % #reqs + 1
	return reqs[i]
end
