#!/usr/bin/env bash
# Create the files docker-compose.yml mounts as secrets, once, readable by
# their owner only: the key-encryption key, the bridge's database password,
# the matching database URL and Grafana's admin password. They live in
# deploy/secrets/, which git ignores. Existing files are kept (a new KEK would
# make every stored signing key unreadable).
set -euo pipefail
dir=$(cd "$(dirname "$0")/../secrets" && pwd)
umask 077

# 32 random bytes, base64url without padding: safe in URLs, SQL and conf files.
rand() {
	head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

made=()
for name in kek db_password grafana_admin_password; do
	if [ ! -s "$dir/$name" ]; then
		rand >"$dir/$name"
		made+=("$name")
	fi
done
if [ ! -s "$dir/database_url" ] || [[ " ${made[*]} " == *" db_password "* ]]; then
	printf 'postgresql://agentidp_app:%s@postgres:5432/agentidp' "$(cat "$dir/db_password")" >"$dir/database_url"
	made+=(database_url)
fi
# The containers run as other users (postgres, agentidp, grafana) and compose
# bind-mounts the files as they are.
chmod 0700 "$dir"
chmod 0644 "$dir"/kek "$dir"/db_password "$dir"/database_url "$dir"/grafana_admin_password
echo "secrets in $dir: ${made[*]:-none created, all present}"
