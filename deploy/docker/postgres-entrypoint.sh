#!/usr/bin/env bash
# Entrypoint of the agentidp-postgres image (Dockerfile target postgres).
#
# Secrets come from files mounted by the orchestrator (compose secrets):
#   /run/secrets/agentidp_kek          agentidp.key_encryption_key
#   /run/secrets/agentidp_db_password  password of the bridge's login role
# The KEK is written to /run/agentidp (a tmpfs in docker-compose.yml) at every
# start and included from there, so it never lands on the data volume.
# AGENTIDP_ISSUER sets agentidp.issuer the same way: it must equal the
# bridge's AGENTIDP_ISSUER or the bridge refuses to start.
# AGENTIDP_PG_RUNDIR and AGENTIDP_PG_SECRETS_DIR move the two directories
# (used to exercise this script outside a container).
set -euo pipefail

BIN=/usr/lib/postgresql/15/bin
PGDATA=${PGDATA:-/var/lib/postgresql/data}
RUNDIR=${AGENTIDP_PG_RUNDIR:-/run/agentidp}
SECRETS=${AGENTIDP_PG_SECRETS_DIR:-/run/secrets}
APP_ROLE=agentidp_app

die() {
	echo "agentidp-postgres: $*" >&2
	exit 1
}

# Print a mounted secret without its trailing newline.
secret() {
	local file=$SECRETS/$1
	[ -r "$file" ] || die "secret $1 is missing: mount it at $file (deploy/docker/make-secrets.sh creates the files)"
	local v
	v=$(tr -d '\r\n' <"$file")
	[ -n "$v" ] || die "secret $1 is empty"
	printf '%s' "$v"
}

# Quote a value as a postgresql.conf / SQL string literal.
quote() {
	local v=${1//\'/\'\'}
	printf "'%s'" "$v"
}

write_runtime_conf() {
	local kek
	# An assignment, so that set -e stops here when the secret is missing (a
	# failing substitution inside printf's arguments would not).
	kek=$(secret agentidp_kek)
	umask 077
	mkdir -p "$RUNDIR"
	printf 'agentidp.key_encryption_key = %s\n' "$(quote "$kek")" >"$RUNDIR/kek.conf.tmp"
	mv -f "$RUNDIR/kek.conf.tmp" "$RUNDIR/kek.conf"
	local issuer=${AGENTIDP_ISSUER:-}
	[ -n "$issuer" ] || die "AGENTIDP_ISSUER is not set (the public URL of the bridge, e.g. http://localhost:8080)"
	printf 'agentidp.issuer = %s\n' "$(quote "$issuer")" >"$RUNDIR/issuer.conf"
	umask 022
}

init_cluster() {
	local pw
	pw=$(secret agentidp_db_password)
	"$BIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --no-locale \
		--auth-local=peer --auth-host=scram-sha-256 >/dev/null
	cat >>"$PGDATA/postgresql.conf" <<CONF

# AgentIdP container settings
listen_addresses = '*'
password_encryption = 'scram-sha-256'
# Loaded at start, agentidp.key_encryption_key is hidden and superuser-only
# in every backend; otherwise it is a placeholder any role can SHOW.
shared_preload_libraries = 'agentidp'
include_if_exists = '$RUNDIR/issuer.conf'
include_if_exists = '$RUNDIR/kek.conf'
CONF
	# The compose network is private; the bridge logs in with a password.
	echo "host agentidp $APP_ROLE all scram-sha-256" >>"$PGDATA/pg_hba.conf"

	# Set up over a socket in the private run directory only: nothing can
	# connect before the roles and the extension exist.
	"$BIN/pg_ctl" -D "$PGDATA" -w -s -o "-c listen_addresses='' -c unix_socket_directories='$RUNDIR'" start
	export PGHOST=$RUNDIR
	# SQL on stdin keeps the password out of the process list.
	"$BIN/psql" -X -q -v ON_ERROR_STOP=1 -d postgres <<SQL
CREATE DATABASE agentidp;
CREATE ROLE $APP_ROLE LOGIN PASSWORD $(quote "$pw");
SQL
	"$BIN/psql" -X -q -v ON_ERROR_STOP=1 -d agentidp <<SQL
CREATE EXTENSION agentidp CASCADE;
GRANT agentidp_bridge TO $APP_ROLE;
SQL
	"$BIN/pg_ctl" -D "$PGDATA" -w -s -m fast stop
	unset PGHOST
}

write_runtime_conf
if [ ! -s "$PGDATA/PG_VERSION" ]; then
	init_cluster
fi
exec "$BIN/postgres" -D "$PGDATA" "$@"
