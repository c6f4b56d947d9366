# couponbatch: build, a private PostgreSQL for development and tests, demo, tests, benchmarks.
#
# If DATABASE_URL is set, that server is used and no private cluster is started. Otherwise a
# private cluster is created for this checkout: under .pg/ when run as a normal user, or (as root,
# since initdb refuses root and the postgres user may not enter this folder) in
# $(TMPDIR)/couponbatch-pg-<hash of this folder>, run as the postgres user. .pg-location records where.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

SWIFT ?= swift
TMPROOT := $(or $(TMPDIR),/tmp)
PROJECT_KEY := $(shell printf '%s' "$(CURDIR)" | sha1sum | cut -c1-10)
IS_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo yes || echo no)
ifeq ($(IS_ROOT),yes)
PGDATA_DIR := $(TMPROOT)/couponbatch-pg-$(PROJECT_KEY)
PG_RUN := runuser -u postgres --
else
PGDATA_DIR := $(CURDIR)/.pg
PG_RUN :=
endif
PG_BIN = $(shell ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
RELEASE_BIN := .build/release/couponbatch
DEBUG_BIN := .build/debug/couponbatch
TEMPLATE_DB := couponbatch_test_template
# Demo code secret: for the demo only. Production sets COUPONBATCH_CODE_SECRET(_FILE) itself.
DEMO_SECRET := demo-secret-not-for-production-0123456789

.PHONY: demo-jobs demo-events help deps pg-start pg-stop pg-status pg-url build release migrate demo test test-db bench clean format lint

help:
	@echo "make demo     install PostgreSQL if missing, start a private cluster, build, migrate, seed, run the demo"
	@echo "make test     the same PostgreSQL bootstrap, then swift test (each test in its own database)"
	@echo "make bench    benchmarks: couponbatch's figures beside a plain-SQL floor measured in the same run"
	@echo "make pg-start | pg-stop | pg-status | clean"

# Installs PostgreSQL and libpq-dev with apt-get when they are missing.
deps:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ! [ -f /usr/include/postgresql/libpq-fe.h ]; then \
	  echo "==> installing postgresql and libpq-dev"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] && echo "" || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql libpq-dev pkg-config >/dev/null; \
	fi

# Starts the private cluster (or checks DATABASE_URL) and writes the URL to .pg-url.
pg-start: deps
	@if [ -n "$${DATABASE_URL:-}" ]; then \
	  echo "$$DATABASE_URL" > .pg-url; \
	  if ! pg_isready -d "$$DATABASE_URL" -q; then echo "DATABASE_URL is set but its server does not answer" >&2; exit 69; fi; \
	  exit 0; \
	fi; \
	bin="$(PG_BIN)"; dir="$(PGDATA_DIR)"; \
	echo "$$dir" > .pg-location; \
	if [ ! -f "$$dir/PG_VERSION" ]; then \
	  echo "==> creating a private PostgreSQL cluster in $$dir"; \
	  mkdir -p "$$dir"; \
	  if [ "$(IS_ROOT)" = yes ]; then chown postgres:postgres "$$dir"; chmod 700 "$$dir"; fi; \
	  $(PG_RUN) "$$bin/initdb" -D "$$dir" -U couponbatch --auth=trust -E UTF8 --no-locale >/dev/null; \
	  port=$$((54000 + 0x$$(echo $(PROJECT_KEY) | cut -c1-4) % 1000)); \
	  while (exec 3<>/dev/tcp/127.0.0.1/$$port) 2>/dev/null; do port=$$((port + 1)); done; \
	  { echo "port = $$port"; echo "listen_addresses = '127.0.0.1'"; echo "unix_socket_directories = '$$dir'"; \
	    echo "max_connections = 300"; echo "shared_buffers = 512MB"; echo "work_mem = 32MB"; \
	    echo "maintenance_work_mem = 256MB"; echo "max_wal_size = 4GB"; \
	    echo "fsync = off"; echo "synchronous_commit = off"; echo "full_page_writes = off"; \
	    echo "logging_collector = off"; } | $(PG_RUN) tee -a "$$dir/postgresql.conf" >/dev/null; \
	fi; \
	port=$$(sed -n "s/^port = \([0-9]*\)/\1/p" "$$dir/postgresql.conf" | tail -1); \
	if ! $(PG_RUN) "$$bin/pg_ctl" -D "$$dir" status >/dev/null 2>&1; then \
	  echo "==> starting PostgreSQL on 127.0.0.1:$$port"; \
	  $(PG_RUN) "$$bin/pg_ctl" -D "$$dir" -l "$$dir/server.log" -w -t 60 start >/dev/null; \
	fi; \
	url="postgresql://couponbatch@127.0.0.1:$$port/couponbatch"; \
	echo "$$url" > .pg-url; \
	if ! psql "postgresql://couponbatch@127.0.0.1:$$port/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'couponbatch'" | grep -q 1; then \
	  psql "postgresql://couponbatch@127.0.0.1:$$port/postgres" -qc "CREATE DATABASE couponbatch" ; \
	fi

pg-stop:
	@dir="$(PGDATA_DIR)"; if [ -f "$$dir/PG_VERSION" ]; then $(PG_RUN) "$(PG_BIN)/pg_ctl" -D "$$dir" -m fast stop || true; fi

pg-status:
	@echo "cluster: $(PGDATA_DIR)"; [ -f .pg-url ] && echo "url: $$(cat .pg-url)" || true; \
	$(PG_RUN) "$(PG_BIN)/pg_ctl" -D "$(PGDATA_DIR)" status || true

pg-url:
	@cat .pg-url

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

migrate: pg-start release
	@DATABASE_URL="$$(cat .pg-url)" $(RELEASE_BIN) migrate

demo: pg-start release
	@export DATABASE_URL="$$(cat .pg-url)"; \
	export COUPONBATCH_CODE_SECRET="$${COUPONBATCH_CODE_SECRET:-$(DEMO_SECRET)}"; \
	echo "==> PostgreSQL: $$DATABASE_URL"; \
	if [ "$$COUPONBATCH_CODE_SECRET" = "$(DEMO_SECRET)" ]; then \
	  echo "==> WARNING: using the built-in DEMO code secret; set COUPONBATCH_CODE_SECRET for real coupons"; fi; \
	echo "==> couponbatch migrate"; $(RELEASE_BIN) migrate; \
	echo "==> couponbatch seed members --count 100000"; $(RELEASE_BIN) seed members --count 100000 --seed 42; \
	$(MAKE) --no-print-directory demo-jobs

# What the demo does once the database is ready. Manual runs use fixed slots (--at), so running
# `make demo` again shows the same runs' results instead of issuing twice.
demo-jobs:
	@B=$(RELEASE_BIN); \
	echo "==> couponbatch jobs list"; $$B jobs list; \
	echo "==> couponbatch run vip-monthly --dry-run"; $$B run vip-monthly --dry-run --at 2026-12-01T01:00:00Z; \
	for job in new-member-starter:2026-11-23T02:00:00Z vip-monthly:2026-12-01T01:00:00Z dormant-recall:2026-11-23T03:00:00Z; do \
	  echo "==> couponbatch run $${job%%:*} --at $${job#*:}"; $$B run "$${job%%:*}" --at "$${job#*:}" 2>/dev/null || true; \
	done; \
	echo "==> couponbatch tick (whatever is due now)"; $$B tick 2>/dev/null || true; \
	echo "==> couponbatch runs"; $$B runs --limit 8; \
	echo "==> coupons by template and arm"; \
	psql "$$DATABASE_URL" -P pager=off -c "SELECT template_key AS template, coalesce(arm, '-') AS arm, count(*) AS coupons, (sum(face_value_fen) / 100)::bigint AS face_value_yuan, to_char(min(expires_at) AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS expires_shanghai FROM coupons GROUP BY 1, 2 ORDER BY 1, 2"; \
	psql "$$DATABASE_URL" -P pager=off -c "SELECT key AS template, stock, issued FROM template_stock ORDER BY key"; \
	run=$$(psql "$$DATABASE_URL" -tAc "SELECT id FROM job_runs WHERE job = 'vip-monthly' AND status = 'succeeded' ORDER BY id LIMIT 1"); \
	echo "==> couponbatch coupons export --run $$run (first 3 lines)"; ($$B coupons export --run "$$run" | head -4) || true; \
	code=$$($$B coupons export --run "$$run" | sed -n 2p | cut -d, -f2); \
	echo "==> couponbatch codes verify $$code"; $$B codes verify "$$code"; \
	forged=$$(echo "$$code" | sed 's/.$$/X/'); [ "$$forged" = "$$code" ] && forged=$$(echo "$$code" | sed 's/.$$/Y/'); \
	echo "==> couponbatch codes verify $$forged (one character changed)"; $$B codes verify "$$forged" || echo "(exit $$?: rejected)"; \
	$(MAKE) --no-print-directory demo-events

# Event triggers: a scheduler LISTENs while a burst of 500 payment events arrives (fixed external
# ids: a second `make demo` records nothing new and issues nothing twice).
demo-events:
	@B=$(RELEASE_BIN); \
	echo "==> couponbatch scheduler (background) + a burst of 500 payment events into member_events"; \
	log=$$(mktemp); $$B scheduler --event-poll-seconds 1 > "$$log" 2>&1 & sched=$$!; \
	sleep 1; \
	psql "$$DATABASE_URL" -qc "INSERT INTO member_events (external_id, member_id, type, amount_fen, occurred_at) \
	  SELECT 'demo-pay-' || g, (g * 7919) % 100000 + 1, 'payment', 5000 + (g * 37) % 30000, now() \
	  FROM generate_series(1, 500) g ON CONFLICT (external_id) DO NOTHING"; \
	for i in $$(seq 1 300); do \
	  left=$$(psql "$$DATABASE_URL" -tAc "SELECT count(*) FROM member_events e WHERE e.type = 'payment' AND NOT EXISTS (SELECT 1 FROM trigger_outcomes o WHERE o.event_id = e.id AND o.job = 'repurchase-7d')"); \
	  [ "$$left" = 0 ] && break; sleep 0.2; \
	done; \
	kill -TERM $$sched; wait $$sched || true; rm -f "$$log"; \
	echo "==> couponbatch events list --limit 6"; $$B events list --limit 6; \
	echo "==> what repurchase-7d did with each event (stock 300, per member 1, amount >= 10000 fen, not blocked)"; \
	psql "$$DATABASE_URL" -P pager=off -c "SELECT o.outcome, count(*) AS events, count(c.id) AS coupons, \
	  round(percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM r.finished_at - e.received_at))::numeric, 3) AS p50_seconds_to_commit, \
	  round(max(extract(epoch FROM r.finished_at - e.received_at))::numeric, 3) AS max_seconds \
	  FROM trigger_outcomes o JOIN member_events e ON e.id = o.event_id JOIN job_runs r ON r.id = o.run_id \
	  LEFT JOIN coupons c ON c.event_id = e.id WHERE o.job = 'repurchase-7d' GROUP BY 1 ORDER BY 2 DESC"; \
	echo "==> couponbatch runs --job repurchase-7d --limit 3 (each batch is a run)"; $$B runs --job repurchase-7d --limit 3

# A migrated template database; each test clones it (CREATE DATABASE … TEMPLATE).
test-db: pg-start build
	@base="$$(cat .pg-url)"; admin="$${base%/*}/postgres"; \
	psql "$$admin" -qc "DROP DATABASE IF EXISTS $(TEMPLATE_DB) WITH (FORCE)" 2>/dev/null || \
	  { psql "$$admin" -qc "UPDATE pg_database SET datistemplate = false WHERE datname = '$(TEMPLATE_DB)'" && psql "$$admin" -qc "DROP DATABASE IF EXISTS $(TEMPLATE_DB) WITH (FORCE)"; }; \
	psql "$$admin" -qc "CREATE DATABASE $(TEMPLATE_DB)"; \
	DATABASE_URL="$${base%/*}/$(TEMPLATE_DB)" $(DEBUG_BIN) migrate >/dev/null; \
	psql "$$admin" -qc "ALTER DATABASE $(TEMPLATE_DB) WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"

test: test-db
	@base="$$(cat .pg-url)"; \
	COUPONBATCH_TEST_DATABASE_URL="$${base%/*}/$(TEMPLATE_DB)" COUPONBATCH_BIN="$(CURDIR)/$(DEBUG_BIN)" \
	  $(SWIFT) test

# Benchmarks print couponbatch's figure beside a floor measured in the same run, on a scratch
# database (couponbatch_bench) that is created and migrated here.
bench: pg-start release
	@base="$$(cat .pg-url)"; admin="$${base%/*}/postgres"; \
	psql "$$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'couponbatch_bench'" | grep -q 1 || psql "$$admin" -qc "CREATE DATABASE couponbatch_bench"; \
	DATABASE_URL="$${base%/*}/couponbatch_bench" $(RELEASE_BIN) migrate >/dev/null; \
	DATABASE_URL="$${base%/*}/couponbatch_bench" $(RELEASE_BIN) bench $(BENCH_ARGS)

clean: pg-stop
	rm -rf .build "$(PGDATA_DIR)" .pg-url .pg-location

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift
