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

.PHONY: demo-jobs demo-bundles help deps pg-start pg-stop pg-status pg-url build release migrate demo test test-db bench clean format lint

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
	$(MAKE) --no-print-directory demo-bundles; \
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
	echo "==> couponbatch codes verify $$forged (one character changed)"; $$B codes verify "$$forged" || echo "(exit $$?: rejected)"

# Subscription bundles in the demo: plans, sample subscribers (anniversaries on the 29th-31st,
# a date-only start, a short paid term, a quarterly plan), a pause, and a bundle job run at fixed
# slots (Sep 30, Nov 1, Dec 1); then the deliveries. Safe to repeat: the import is an upsert,
# the pause is applied once, and each slot is one run.
demo-bundles:
	@B=$(RELEASE_BIN); \
	echo "==> couponbatch plans list"; $$B plans list; \
	echo "==> couponbatch plans next beauty-yearly --started 2026-01-31T10:00:00+08:00 --count 4 (anniversary on the 31st)"; \
	$$B plans next beauty-yearly --started 2026-01-31T10:00:00+08:00 --count 4; \
	echo "==> couponbatch subscriptions import jobs/demo/subscriptions.csv"; $$B subscriptions import jobs/demo/subscriptions.csv; \
	paused=$$(psql "$$DATABASE_URL" -tAc "SELECT id FROM subscriptions WHERE external_id = 'S-1003' AND paused_from IS NULL"); \
	if [ -n "$$paused" ]; then \
	  echo "==> couponbatch subscriptions pause $$paused --until 2026-11-15 --now 2026-10-20T00:00:00+08:00 (S-1003)"; \
	  $$B subscriptions pause "$$paused" --until 2026-11-15 --now 2026-10-20T00:00:00+08:00; fi; \
	for slot in 2026-09-30T02:00:00Z 2026-11-01T02:00:00Z 2026-12-01T02:00:00Z; do \
	  echo "==> couponbatch run monthly-bundles --at $$slot"; $$B run monthly-bundles --at "$$slot" 2>/dev/null | head -1 || true; \
	done; \
	echo "==> deliveries per subscription: period) due day in Shanghai [status when not delivered]"; \
	psql "$$DATABASE_URL" -P pager=off -c "SELECT s.external_id, s.plan, s.anchor_day AS day, s.paid_through, string_agg(d.period || ') ' || to_char(d.due_at AT TIME ZONE 'Asia/Shanghai', 'MM-DD') || CASE WHEN d.status <> 'delivered' THEN ' ' || d.status ELSE '' END, ', ' ORDER BY d.period) AS deliveries, sum(d.coupons) AS coupons FROM subscriptions s LEFT JOIN bundle_deliveries d ON d.subscription_id = s.id GROUP BY 1, 2, 3, 4 ORDER BY 1"; \
	sub=$$(psql "$$DATABASE_URL" -tAc "SELECT id FROM subscriptions WHERE external_id = 'S-1004'"); \
	echo "==> couponbatch subscriptions show $$sub (S-1004: anniversary on the 31st)"; $$B subscriptions show "$$sub"

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
