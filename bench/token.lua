-- token.lua: POST /api/v1/token, client credentials with client_secret_basic
-- over keep-alive connections. Every 2xx body's claims part (the middle of
-- the JWT) is written to <prefix>.<tid>, so bench/run can check that each
-- token the client received has its tokens row and its token.issued event.
-- wrk args: -- BASIC_B64 OUT_PREFIX
package.path = os.getenv("BENCH_DIR") .. "/?.lua;" .. package.path
require("common")

local out, since_flush = nil, 0

function init(args)
	counts = true
	wrk.method = "POST"
	wrk.body = "grant_type=client_credentials"
	wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
	wrk.headers["Authorization"] = "Basic " .. args[1]
	out = assert(io.open(args[2] .. "." .. tid, "w"))
end

function response(status, headers, body)
	if status >= 200 and status < 300 then
		ok = ok + 1
		local claims = body:match('"access_token": ?"[^."]+%.([^."]+)%.')
		out:write(claims or "UNPARSED", "\n")
		since_flush = since_flush + 1
		if since_flush >= 256 then
			out:flush()
			since_flush = 0
		end
	else
		count_response(status)
	end
end
