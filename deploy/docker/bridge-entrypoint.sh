#!/bin/sh
# Entrypoint of the agentidp-bridge image (Dockerfile target bridge).
# AGENTIDP_DATABASE_URL carries the database password, so orchestrators that
# mount secrets as files (compose secrets) give it as
# /run/secrets/agentidp_database_url; an explicit environment value wins
# (ECS and Cloud Run inject it from their secret managers).
set -eu
if [ -z "${AGENTIDP_DATABASE_URL:-}" ] && [ -r /run/secrets/agentidp_database_url ]; then
	AGENTIDP_DATABASE_URL=$(tr -d '\r\n' </run/secrets/agentidp_database_url)
	export AGENTIDP_DATABASE_URL
fi
exec /usr/local/bin/agentidp-bridge "$@"
