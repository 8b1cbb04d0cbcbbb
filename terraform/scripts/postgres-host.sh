# Body of the first-boot script of a PostgreSQL host (AWS EC2 or GCE VM).
#
# Managed RDS and Cloud SQL cannot load a custom C extension, so each database
# host builds agentidp from source with the same package list and build steps
# that CI runs (scripts/deps.sh, make, make install) and runs Debian's
# PostgreSQL 15. The cloud-specific header that Terraform renders in front of
# this file sets:
#   AGENTIDP_ROLE        primary | replica
#   UPSTREAM_HOST        address a replica streams from (unused on a primary)
#   ISSUER               public issuer URL (agentidp.issuer; must equal the
#                        bridge's AGENTIDP_ISSUER)
#   SOURCE_REPO, SOURCE_REF   where to fetch the AgentIdP source
#   CLIENT_CIDRS         space-separated networks allowed to connect as the app
#   REPLICATION_CIDRS    space-separated networks allowed to stream WAL
# and defines fetch_secret NAME (NAME = kek | db_password | replication_password),
# which prints the secret's current value on stdout. Secrets come from the
# cloud's secret manager through the instance's own identity: they are never in
# this script, in the user data or in Terraform state.
set -euo pipefail

PGVER=15
PGCLUSTER=main
PGDATA=/var/lib/postgresql/$PGVER/$PGCLUSTER
PGCONF=/etc/postgresql/$PGVER/$PGCLUSTER
SRC=/opt/agentidp/src
APP_ROLE=agentidp_app
REPL_ROLE=agentidp_replicator
STATE=/var/lib/agentidp-host

log() { echo "agentidp-host: $*" >&2; }

# Run psql as the cluster owner against the local cluster; SQL on stdin keeps
# passwords out of the process list.
psql_local() {
	runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 "$@"
}

install_packages() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends git ca-certificates curl jq >/dev/null
	if [ ! -d "$SRC/.git" ]; then
		git clone --quiet --depth 1 --branch "$SOURCE_REF" "$SOURCE_REPO" "$SRC"
	fi
	# The one package list (scripts/deps.sh) that CI and the Dockerfile use.
	bash "$SRC/scripts/deps.sh" build
	# deps.sh installs redis-server for local runs; a database host uses the
	# managed Redis, so the local one must not run.
	systemctl disable --now redis-server >/dev/null 2>&1 || true
}

build_extension() {
	make -C "$SRC" -s
	make -C "$SRC" -s install
}

# Write the helper that puts the key-encryption key into a tmpfs include file
# before every PostgreSQL start (and on each sync), so the KEK never lands on
# the data volume or in a snapshot of it.
install_secret_helper() {
	install -d -m 0755 /usr/local/sbin
	{
		echo '#!/usr/bin/env bash'
		echo 'set -euo pipefail'
		declare -f fetch_secret
		cat <<'HELPER'
# agentidp-secrets start: write /run/agentidp/kek.conf (called by systemd
#   before PostgreSQL starts).
# agentidp-secrets sync: refresh the KEK and, on a primary, the application and
#   replication passwords after a rotation in the secret manager.
umask 077
install -d -m 0700 -o postgres -g postgres /run/agentidp
kek=$(fetch_secret kek)
if [ -z "$kek" ]; then
	echo "agentidp-secrets: key-encryption key secret is empty" >&2
	exit 1
fi
tmp=$(mktemp /run/agentidp/kek.XXXXXX)
printf "agentidp.key_encryption_key = '%s'\n" "${kek//\'/\'\'}" >"$tmp"
chown postgres:postgres "$tmp"
mv -f "$tmp" /run/agentidp/kek.conf
# Replicas (and pg_basebackup) read the replication password from the
# postgres user's .pgpass, so a rotation never needs primary_conninfo edited.
repl=$(fetch_secret replication_password)
tmp=$(mktemp /var/lib/postgresql/.pgpass.XXXXXX)
printf '*:5432:replication:agentidp_replicator:%s\n' "$repl" >"$tmp"
chown postgres:postgres "$tmp"
mv -f "$tmp" /var/lib/postgresql/.pgpass
if [ "${1:-start}" = sync ]; then
	pg_ctlcluster 15 main reload
	if [ "$(runuser -u postgres -- psql -XAtq -c 'select pg_is_in_recovery()')" = f ]; then
		app=$(fetch_secret db_password)
		printf "ALTER ROLE agentidp_app PASSWORD '%s';\nALTER ROLE agentidp_replicator PASSWORD '%s';\n" \
			"$app" "$repl" | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres
	fi
fi
HELPER
	} >/usr/local/sbin/agentidp-secrets
	chmod 0700 /usr/local/sbin/agentidp-secrets

	install -d /etc/systemd/system/postgresql@.service.d
	cat >/etc/systemd/system/postgresql@.service.d/agentidp-secrets.conf <<'UNIT'
[Service]
ExecStartPre=/usr/local/sbin/agentidp-secrets start
UNIT
	cat >/etc/systemd/system/agentidp-secrets-sync.service <<'UNIT'
[Unit]
Description=Refresh AgentIdP secrets from the secret manager
After=postgresql@15-main.service
[Service]
Type=oneshot
ExecStart=/usr/local/sbin/agentidp-secrets sync
UNIT
	cat >/etc/systemd/system/agentidp-secrets-sync.timer <<'UNIT'
[Unit]
Description=Refresh AgentIdP secrets every five minutes
[Timer]
OnBootSec=5min
OnUnitActiveSec=5min
[Install]
WantedBy=timers.target
UNIT
	systemctl daemon-reload
}

# Memory settings for a host with $1 kB of RAM (/proc/meminfo MemTotal), as
# configuration lines: a quarter of it for shared buffers (PostgreSQL's own
# starting point; at least 128 MB), three quarters as the planner's estimate
# of the cache, and the buffers on huge pages. With 4 kB pages every backend
# new to the buffer pool takes a fault for each page of it that it touches;
# revocation on fresh connections ran about 30 % faster on 2 MB pages
# (bench/RESULTS.md). "try": a host whose huge pages cannot all be reserved
# still starts. WAL: a checkpoint every 15 minutes at most, before 4 GB of
# WAL, so that a burst of issuance does not force checkpoints (and the full
# page images after each) every few seconds.
memory_settings() {
	local mem_kb=$1 sb_mb
	sb_mb=$((mem_kb / 4 / 1024))
	if [ "$sb_mb" -lt 128 ]; then
		sb_mb=128
	fi
	echo "shared_buffers = '${sb_mb}MB'"
	echo "effective_cache_size = '$((mem_kb * 3 / 4 / 1024))MB'"
	echo "huge_pages = try"
	echo "max_wal_size = '4GB'"
	echo "checkpoint_timeout = '15min'"
}

# Reserve the huge pages the stopped cluster needs (PostgreSQL computes the
# count from its configuration), now and at every boot.
reserve_huge_pages() {
	local pages
	# (Under set -e a failing -C would end the bootstrap: it only costs the pages.)
	pages=$(runuser -u postgres -- /usr/lib/postgresql/$PGVER/bin/postgres -D "$PGDATA" \
		-c config_file="$PGCONF/postgresql.conf" -C shared_memory_size_in_huge_pages) || pages=
	if ! [[ "$pages" =~ ^[0-9]+$ ]] || [ "$pages" -le 0 ]; then
		log "no huge page count from PostgreSQL ('$pages'); running on 4 kB pages"
		return 0
	fi
	echo "vm.nr_hugepages = $pages" >/etc/sysctl.d/60-agentidp-hugepages.conf
	sysctl -q -w vm.nr_hugepages="$pages" || log "could not reserve $pages huge pages"
}

configure_cluster() {
	install -d -m 0755 "$PGCONF/conf.d"
	memory_settings "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)" >"$PGCONF/conf.d/agentidp-memory.conf"
	cat >"$PGCONF/conf.d/agentidp.conf" <<CONF
# Written by the AgentIdP host bootstrap.
listen_addresses = '*'
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
wal_keep_size = '2GB'
hot_standby = on
# Synchronous commit stays local: a replica in another region must not add a
# cross-region round trip to every token issuance (see terraform/README.md).
synchronous_commit = on
password_encryption = 'scram-sha-256'
ssl = on
# Loaded at start, agentidp.key_encryption_key is hidden and superuser-only
# in every backend; otherwise it is a placeholder any role can SHOW.
shared_preload_libraries = 'agentidp'
agentidp.issuer = '${ISSUER}'
include_if_exists = '/run/agentidp/kek.conf'
CONF
	{
		echo "# Written by the AgentIdP host bootstrap."
		echo "local   all             postgres                                peer"
		for cidr in $CLIENT_CIDRS; do
			echo "hostssl agentidp        $APP_ROLE            $cidr    scram-sha-256"
		done
		for cidr in $REPLICATION_CIDRS; do
			echo "hostssl replication     $REPL_ROLE     $cidr    scram-sha-256"
		done
	} >"$PGCONF/pg_hba.conf"
}

init_primary() {
	systemctl stop postgresql@$PGVER-$PGCLUSTER
	reserve_huge_pages
	systemctl start postgresql@$PGVER-$PGCLUSTER
	local app repl
	app=$(fetch_secret db_password)
	repl=$(fetch_secret replication_password)
	psql_local -d postgres <<SQL
SELECT 'CREATE DATABASE agentidp' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = 'agentidp')\gexec
DO \$\$ BEGIN
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$APP_ROLE') THEN
		CREATE ROLE $APP_ROLE LOGIN;
	END IF;
	IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$REPL_ROLE') THEN
		CREATE ROLE $REPL_ROLE LOGIN REPLICATION;
	END IF;
END \$\$;
ALTER ROLE $APP_ROLE PASSWORD '$app';
ALTER ROLE $REPL_ROLE PASSWORD '$repl';
SQL
	psql_local -d agentidp <<SQL
CREATE EXTENSION IF NOT EXISTS agentidp CASCADE;
GRANT agentidp_bridge TO $APP_ROLE;
SQL
}

init_replica() {
	local slot
	slot=$(hostname -s | tr -c 'a-z0-9_\n' '_')
	systemctl stop postgresql@$PGVER-$PGCLUSTER
	# Writes ~postgres/.pgpass with the replication password.
	/usr/local/sbin/agentidp-secrets start
	# The upstream may still be bootstrapping: retry for up to 30 minutes.
	for _ in $(seq 1 180); do
		if runuser -u postgres -- pg_isready -q -h "$UPSTREAM_HOST" -p 5432; then
			break
		fi
		sleep 10
	done
	rm -rf "$PGDATA"
	install -d -m 0700 -o postgres -g postgres "$PGDATA"
	# -R writes standby.signal; -C -S gives the replica its own slot so the
	# upstream keeps WAL while the replica is behind.
	PGSSLMODE=require runuser -u postgres -- \
		pg_basebackup -h "$UPSTREAM_HOST" -p 5432 -U "$REPL_ROLE" -D "$PGDATA" \
		-R -X stream -C -S "$slot" --checkpoint=fast
	# Replace the connection string -R wrote (it may embed the password) with
	# one that reads the password from .pgpass at every reconnect.
	sed -i '/^primary_conninfo/d; /^primary_slot_name/d' "$PGDATA/postgresql.auto.conf"
	cat >>"$PGDATA/postgresql.auto.conf" <<CONF
primary_conninfo = 'host=$UPSTREAM_HOST port=5432 user=$REPL_ROLE sslmode=require application_name=$slot'
primary_slot_name = '$slot'
CONF
	reserve_huge_pages
	systemctl start postgresql@$PGVER-$PGCLUSTER
}

main() {
	install -d -m 0700 "$STATE"
	if [ -f "$STATE/done" ]; then
		log "already bootstrapped"
		exit 0
	fi
	install_packages
	build_extension
	install_secret_helper
	configure_cluster
	case "$AGENTIDP_ROLE" in
		primary) init_primary ;;
		replica) init_replica ;;
		*) log "unknown AGENTIDP_ROLE '$AGENTIDP_ROLE'"; exit 1 ;;
	esac
	systemctl enable --now agentidp-secrets-sync.timer
	touch "$STATE/done"
	log "bootstrapped as $AGENTIDP_ROLE"
}

main "$@"
