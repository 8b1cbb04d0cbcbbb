# Throwaway PostgreSQL and Redis for tests and local runs.
# Source this file; every function takes explicit ports and folders so that
# several suites (and several developers) can run side by side.
#
# CI runs as root and initdb refuses root, so clusters run as the `postgres`
# user (or as the caller when the caller is not root).

PG_BIN=${PG_BIN:-$(pg_config --bindir)}

# Run a command as the cluster's owner.
as_pg_owner() {
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# pg_start DIR PORT [extra postgresql.conf lines...]
# Create (if needed) and start a cluster in DIR listening on 127.0.0.1:PORT and
# on a Unix socket in DIR. Prints nothing on success.
pg_start() {
	local dir=$1 port=$2; shift 2
	if [ ! -f "$dir/PG_VERSION" ]; then
		mkdir -p "$dir"
		[ "$(id -u)" = 0 ] && chown postgres: "$dir"
		as_pg_owner "$PG_BIN/initdb" -D "$dir" -U postgres -A trust -E UTF8 --no-locale >"$dir.initdb.log" 2>&1 ||
			{ cat "$dir.initdb.log" >&2; return 1; }
		{
			echo "listen_addresses = '127.0.0.1'"
			echo "port = $port"
			echo "unix_socket_directories = '$dir'"
			echo "max_connections = 200"
			echo "shared_buffers = 256MB"
			echo "max_worker_processes = 32"
			echo "fsync = on"
			echo "log_min_messages = warning"
			# Preloaded so that the key-encryption key is a hidden,
			# superuser-only setting from the first connection on.
			echo "shared_preload_libraries = 'agentidp'"
			echo "agentidp.key_encryption_key = '${AGENTIDP_TEST_KEK:-test-only-key-encryption-key-0123456789}'"
			for line in "$@"; do echo "$line"; done
		} >>"$dir/postgresql.conf"
	fi
	as_pg_owner "$PG_BIN/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null ||
		{ tail -20 "$dir/server.log" >&2; return 1; }
}

# pg_stop DIR [mode]
pg_stop() {
	[ -f "$1/postmaster.pid" ] || return 0
	as_pg_owner "$PG_BIN/pg_ctl" -D "$1" -m "${2:-fast}" -w stop >/dev/null 2>&1
}

# redis_start DIR PORT [extra redis.conf lines...]
redis_start() {
	local dir=$1 port=$2; shift 2
	mkdir -p "$dir"
	{
		echo "port $port"
		echo "bind 127.0.0.1"
		echo "unixsocket $dir/redis.sock"
		echo "unixsocketperm 700"
		echo "daemonize yes"
		echo "dir $dir"
		echo "pidfile $dir/redis.pid"
		echo "logfile $dir/redis.log"
		echo "save ''"
		echo "appendonly no"
		echo "maxmemory-policy noeviction"
		for line in "$@"; do echo "$line"; done
	} >"$dir/redis.conf"
	redis-server "$dir/redis.conf" || return 1
	for _ in $(seq 50); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "redis on port $port did not start" >&2
	return 1
}

# redis_stop DIR PORT
redis_stop() {
	redis-cli -p "$2" shutdown nosave >/dev/null 2>&1 || true
	local pid
	pid=$(cat "$1/redis.pid" 2>/dev/null) || return 0
	for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
	kill -9 "$pid" 2>/dev/null || true
}
