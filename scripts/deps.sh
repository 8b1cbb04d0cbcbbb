#!/usr/bin/env bash
# Install every Debian package AgentIdP needs to build, run and test.
# One list for the README's commands, CI and the Dockerfile.
# Usage: scripts/deps.sh [build|run|test]   (default: test = everything)
set -euo pipefail

BUILD_PKGS=(
	build-essential pkg-config ca-certificates
	postgresql-15 postgresql-server-dev-15 postgresql-client-15
	libmicrohttpd-dev libpq-dev libjansson-dev libhiredis-dev libssl-dev
	redis-server redis-tools
	nodejs
)
TEST_PKGS=(
	curl jq python3 procps psmisc
	prometheus
	chromium
	clang libclang-rt-14-dev
	wrk
)

want=("${BUILD_PKGS[@]}")
case "${1:-test}" in
	build|run) ;;
	test) want+=("${TEST_PKGS[@]}") ;;
	*) echo "usage: $0 [build|run|test]" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# npm ships inside nodesource's nodejs, as a separate package in Debian's.
command -v npm >/dev/null 2>&1 || missing+=(npm)

if [ ${#missing[@]} -gt 0 ]; then
	echo "installing: ${missing[*]}"
	SUDO=""
	[ "$(id -u)" = 0 ] || SUDO=sudo
	$SUDO apt-get update -qq
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's postgresql package starts a default cluster; AgentIdP runs its own.

# The dashboard's toolchain (Vite 8) needs Node.js 20.19 or later; Debian 12's
# own nodejs is 18. Say so plainly instead of failing deep inside npm.
node_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$node_major" -lt 20 ]; then
	echo "Node.js $(node --version 2>/dev/null || echo '(none)') is too old for the dashboard build: install Node.js 20 or later (for example NodeSource's nodejs 20 package) and run again." >&2
	exit 1
fi
