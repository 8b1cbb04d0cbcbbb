# syntax=docker/dockerfile:1
# AgentIdP container images: a thin wrapper over the build steps CI runs
# (scripts/deps.sh, make, make install, npm ci && npm run build). No Docker
# engine runs in CI here, so this file is checked statically by
# test/deploy/run (package list vs scripts/deps.sh), never built there.
#
#   docker build --target bridge   -t agentidp-bridge .
#   docker build --target postgres -t agentidp-postgres .
#   docker compose up              (see docker-compose.yml)

ARG DEBIAN=debian:12-slim

# ---- build: the extension and the bridge, with the one package list -------
FROM ${DEBIAN} AS build
COPY scripts/deps.sh /src/scripts/deps.sh
# deps.sh installs whatever of its build list is missing (apt-get); "build"
# is the list CI and the README use to compile.
RUN bash /src/scripts/deps.sh build && rm -rf /var/lib/apt/lists/*
COPY . /src
WORKDIR /src
# make: the extension (PGXS) and the bridge (make -C bridge); DESTDIR keeps
# the installed extension files apart for the postgres stage.
RUN make -j"$(nproc)" && make -C bridge && make install DESTDIR=/out

# ---- dashboard: the static web app ----------------------------------------
# Vite 8 needs Node 20.19 or later; Debian 12's own nodejs is 18, so this one
# stage uses the Node 20 image built on Debian 12 (bookworm).
FROM node:20-bookworm-slim AS dashboard
WORKDIR /src/dashboard
COPY dashboard/package.json dashboard/package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY dashboard/ ./
RUN npm run build

# ---- postgres: PostgreSQL 15 with the agentidp extension --------------------
FROM ${DEBIAN} AS postgres
# A fixed uid (999) so the compose tmpfs for the KEK can be owned by it; the
# entrypoint makes its own cluster in $PGDATA: no Debian "main" cluster.
RUN groupadd --system --gid 999 postgres \
	&& useradd --system --uid 999 --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres \
	&& mkdir -p /etc/postgresql-common/createcluster.d \
	&& echo 'create_main_cluster = false' >/etc/postgresql-common/createcluster.d/agentidp.conf \
	&& apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		postgresql-15 libssl3 ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
COPY --from=build /out/usr/lib/postgresql/15/lib/ /usr/lib/postgresql/15/lib/
COPY --from=build /out/usr/share/postgresql/15/extension/ /usr/share/postgresql/15/extension/
COPY deploy/docker/postgres-entrypoint.sh /usr/local/bin/agentidp-postgres
ENV PGDATA=/var/lib/postgresql/data
RUN install -d -o postgres -g postgres -m 0700 "$PGDATA" /run/agentidp
USER postgres
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/agentidp-postgres"]

# ---- bridge: agentidp-bridge, its policy data and the dashboard -------------
FROM ${DEBIAN} AS bridge
# Runtime halves of the -dev libraries in scripts/deps.sh's build list
# (test/deploy/run checks the pairing with apt-cache).
RUN apt-get update -qq \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		libmicrohttpd12 libpq5 libjansson4 libhiredis0.14 libssl3 ca-certificates \
	&& rm -rf /var/lib/apt/lists/* \
	&& useradd --system --uid 10001 --home-dir /nonexistent --shell /usr/sbin/nologin agentidp
COPY --from=build /src/bridge/agentidp-bridge /usr/local/bin/agentidp-bridge
COPY --from=build /src/policies/ /opt/agentidp/policies/
COPY --from=dashboard /src/dashboard/dist/ /opt/agentidp/dashboard/
COPY deploy/docker/bridge-entrypoint.sh /usr/local/bin/agentidp-bridge-entrypoint
ENV AGENTIDP_LISTEN=0.0.0.0:8080 \
	AGENTIDP_POLICY_FILE=/opt/agentidp/policies/data.json \
	AGENTIDP_DASHBOARD_DIR=/opt/agentidp/dashboard
USER agentidp
EXPOSE 8080
# SIGTERM drains in-flight requests (DESIGN.md §2 / issue 3).
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/agentidp-bridge-entrypoint"]
