# AgentIdP: the PostgreSQL extension (PGXS) and the HTTP bridge.
#   make               build the extension and the bridge
#   make install       install the extension into PostgreSQL (pg_config)
#   make installcheck  run the pg_regress suite against a running server

EXTENSION = agentidp
MODULE_big = agentidp
OBJS = $(patsubst %.c,%.o,$(wildcard extension/*.c))
DATA = $(wildcard extension/agentidp--*.sql)
PG_CPPFLAGS = -Iextension
SHLIB_LINK = -lcrypto

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --outputdir=test/output/regress

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

all: bridge
.PHONY: bridge bridge-clean
bridge:
	@if [ -f bridge/Makefile ]; then $(MAKE) -C bridge; fi

clean: bridge-clean
bridge-clean:
	@if [ -f bridge/Makefile ]; then $(MAKE) -C bridge clean; fi

# The benchmark harness (bench/run; bench/RESULTS.md). Not one of the test suites:
# it measures for minutes and needs the machine to itself.
.PHONY: bench
bench:
	bench/run
