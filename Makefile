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

.PHONY: demo-jobs demo-merchant demo-report demo-events report-check help deps pg-start pg-stop pg-status pg-url build release migrate demo test test-db bench clean format lint bench-pg-start bench-pg-stop install console-check demo-bundles chaos

help:
	@echo "make demo     install PostgreSQL if missing, start a private cluster, build, migrate, seed, run the demo"
	@echo "make test     the same PostgreSQL bootstrap, then swift test (each test in its own database)"
	@echo "make bench    benchmarks: couponbatch's figures beside a plain-SQL floor measured in the same run"
	@echo "make report-check  the demo's HTML report opened in headless chromium, with a screenshot"
	@echo "make install PREFIX=/usr/local   the release binary (migrations built in) to PREFIX/bin"
	@echo "make console-check   the web console in headless chromium: screenshots, no console errors or broken links"
	@echo "make chaos    fault-injection suite (kills, PostgreSQL restarts, hung backends, hostile sql:); private cluster only"
	@echo "make pg-start | pg-stop | pg-status | clean"

# Installs PostgreSQL, libpq-dev and python3 (the webhook receiver of tests and bench) with apt-get when missing.
deps:
	@if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || ! [ -f /usr/include/postgresql/libpq-fe.h ]; then \
	  echo "==> installing postgresql and libpq-dev"; \
	  SUDO=$$([ "$$(id -u)" = 0 ] && echo "" || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq postgresql libpq-dev pkg-config >/dev/null; \
	fi

# Starts the private cluster (or checks DATABASE_URL) and writes the URL to .pg-url.
# Roles of the private cluster: couponbatch_admin is the superuser that bootstraps it (initdb,
# roles, databases); couponbatch, the application's role, is NOT a superuser: it owns its
# databases and may CREATE DATABASE (tests clone a template) and CREATE ROLE (migrate creates
# the read-only couponbatch_segment_reader role that sql: segments run as); it is a member of
# pg_checkpoint and pg_signal_backend so `make bench` can checkpoint between cases and drop its
# scratch databases WITH (FORCE) while autovacuum works in them. A cluster made before
# this split is converted in place on the next pg-start.
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
	  $(PG_RUN) "$$bin/initdb" -D "$$dir" -U couponbatch_admin --auth=trust -E UTF8 --no-locale >/dev/null; \
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
	  tries=0; \
	  until $(PG_RUN) "$$bin/pg_ctl" -D "$$dir" -l "$$dir/server.log" -w -t 60 start >/dev/null; do \
	    tries=$$((tries + 1)); \
	    if [ $$tries -ge 5 ] || ! tail -n 5 "$$dir/server.log" | grep -q "could not create any TCP/IP sockets"; then \
	      echo "PostgreSQL did not start: see $$dir/server.log" >&2; exit 1; \
	    fi; \
	    port=$$((port + 1)); while (exec 3<>/dev/tcp/127.0.0.1/$$port) 2>/dev/null; do port=$$((port + 1)); done; \
	    echo "==> the port was taken (a client socket can hold it unseen); starting on 127.0.0.1:$$port"; \
	    echo "port = $$port" | $(PG_RUN) tee -a "$$dir/postgresql.conf" >/dev/null; \
	  done; \
	fi; \
	url="postgresql://couponbatch@127.0.0.1:$$port/couponbatch"; \
	echo "$$url" > .pg-url; \
	admin="postgresql://couponbatch_admin@127.0.0.1:$$port/postgres"; \
	if ! psql "$$admin" -tAc "SELECT 1" >/dev/null 2>&1; then \
	  psql "postgresql://couponbatch@127.0.0.1:$$port/postgres" -qc "CREATE ROLE couponbatch_admin SUPERUSER LOGIN"; \
	fi; \
	psql "$$admin" -tAc "SELECT 1 FROM pg_roles WHERE rolname = 'couponbatch'" | grep -q 1 || psql "$$admin" -qc "CREATE ROLE couponbatch LOGIN"; \
	psql "$$admin" -qc "ALTER ROLE couponbatch NOSUPERUSER CREATEDB CREATEROLE LOGIN"; \
	psql "$$admin" -qc "GRANT pg_checkpoint, pg_signal_backend TO couponbatch"; \
	if ! psql "$$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'couponbatch'" | grep -q 1; then \
	  psql "$$admin" -qc "CREATE DATABASE couponbatch OWNER couponbatch" ; \
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
	echo "==> couponbatch codes verify $$forged (one character changed)"; $$B codes verify "$$forged" || echo "(exit $$?: rejected)"; \
	$(MAKE) --no-print-directory demo-merchant; \
	echo "==> couponbatch run expiry-reminder --at 2026-11-28T02:00:00Z (10:00 Shanghai: coupons lapsing within 3 days)"; \
	$$B run expiry-reminder --at 2026-11-28T02:00:00Z 2>/dev/null | head -1 || true; \
	echo "==> couponbatch run expire-coupons --at 2026-12-01T16:05:00Z (00:05 Shanghai on Dec 2)"; \
	$$B run expire-coupons --at 2026-12-01T16:05:00Z 2>/dev/null | head -1 || true; \
	echo "==> couponbatch notifications deliver --sink local-file (as of 10:00 Shanghai, outside the 22:00-08:00 quiet hours)"; \
	$$B notifications deliver --sink local-file --now 2026-12-02T02:00:00Z 2>/dev/null || true; \
	echo "==> notifications by job, kind and status"; \
	psql "$$DATABASE_URL" -P pager=off -c "SELECT job, kind, status, count(*) AS notifications, sum(cardinality(coupon_ids)) AS coupons FROM notifications GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"; \
	psql "$$DATABASE_URL" -P pager=off -c "SELECT template_key AS template, status, count(*) AS coupons FROM coupons GROUP BY 1, 2 ORDER BY 1, 2"; \
	echo "==> a sample notification (first line of var/notifications.ndjson for expiry-reminder)"; \
	grep -m1 '"kind":"remind"' var/notifications.ndjson || true; \
	$(MAKE) --no-print-directory demo-report
	@$(MAKE) --no-print-directory demo-events

# The merchant's data in and out: a CRM member export, redemptions at a till and back-filled from
# an offline till (with a few bad rows), then the report. Fixed request ids and --at times, so
# running the demo again replays instead of redeeming twice.
DEMO_VAR := var/demo
# Offline redemptions for the demo, made from the exported starter and recall coupons: a share of
# each template redeemed over the week after issue, at varied stores and amounts, then five bad
# rows (a forged code, a second use, a use after expiry, below the minimum spend, a bad amount).
define DEMO_OFFLINE_AWK
function hash(n) { return (n * 2654435761) % 1000 }
BEGIN { print "code,store,amount_fen,redeemed_at,request_id" }
NR == 1 { next }
{ h = hash(NR); bar = ($$5 == "starter-10") ? 420 : ($$5 == "starter-100-20") ? 260 : ($$5 == "starter-200-50") ? 120 : ($$5 == "recall-7d") ? 300 : ($$5 == "recall-15d") ? 190 : 0;
  if (h >= bar) { if ($$5 == "starter-10" && unused10 == "") unused10 = $$2; if ($$5 == "starter-100-20" && unused100 == "") unused100 = $$2; next }
  day = 23 + int((hash(NR * 7 + 1) / 1000) ^ 2 * 7); hour = 11 + hash(NR * 13 + 5) % 11; minute = hash(NR * 3 + 2) % 60;
  amount = ($$5 == "starter-10") ? 3000 + hash(NR + 11) * 9 : ($$5 == "starter-100-20") ? 10000 + hash(NR + 12) * 14 : ($$5 == "starter-200-50") ? 20000 + hash(NR + 13) * 20 : 6000 + hash(NR + 14) * 12;
  printf "%s,SH-%03d,%d,2026-11-%02dT%02d:%02d:00+08:00,offline-%s\n", $$2, 1 + hash(NR * 17) % 12, amount, day, hour, minute, $$2;
  if (++kept == 1) first = $$2 }
END { bad = first; sub(/.$$/, (substr(first, length(first)) == "X") ? "Y" : "X", bad);
  print bad ",SH-001,5000,2026-11-24T12:00:00+08:00,offline-forged";
  print first ",SH-002,5000,2026-11-25T12:00:00+08:00,offline-second-use";
  print unused10 ",SH-003,5000,2026-12-05T12:00:00+08:00,offline-too-late";
  print unused100 ",SH-004,4000,2026-11-24T15:00:00+08:00,offline-below-minimum";
  print first ",SH-005,12.50,2026-11-24T15:00:00+08:00,offline-bad-amount" }
endef
export DEMO_OFFLINE_AWK

demo-merchant:
	@B=$(RELEASE_BIN); mkdir -p $(DEMO_VAR); \
	{ echo "id,tier,tags,registered_at,last_order_at,order_count,total_spend_fen,home_store,openid"; \
	  echo "900001,gold,wechat-pay|family,2026-11-20T10:00:00+08:00,2026-11-28T19:30:00+08:00,3,260000,SH-001,o-crm-900001"; \
	  echo "900002,standard,mini-program,2026-11-21T09:15:00+08:00,,0,0,BJ-002,o-crm-900002"; \
	  echo "900003,silver,,2026-11-22T12:00:00+08:00,2026-11-25T12:00:00+08:00,1,12800,GZ-001,"; \
	  echo "1,platinum,wechat-pay|vip-event,2024-01-05T08:00:00+08:00,2026-11-30T20:00:00+08:00,61,812000,SH-001,o-crm-1"; \
	  echo "2,gold,wechat-pay,2024-02-01T08:00:00+08:00,2026-11-29T20:00:00+08:00,25,231000,SH-002,o-crm-2"; \
	  echo "900004,diamond,,2026-11-22T12:00:00+08:00,,0,0,,"; \
	  echo "900005,silver,,2026-11-22 12:00,,0,0,,"; \
	} > $(DEMO_VAR)/members.csv; \
	echo "==> couponbatch members import $(DEMO_VAR)/members.csv (a CRM export: 5 good rows, 2 bad)"; \
	$$B members import $(DEMO_VAR)/members.csv || echo "(exit $$?: bad rows listed, good rows applied)"; \
	vip=$$(psql "$$DATABASE_URL" -tAc "SELECT id FROM job_runs WHERE job = 'vip-monthly' AND status = 'succeeded' ORDER BY id LIMIT 1"); \
	$$B coupons export --run "$$vip" > $(DEMO_VAR)/vip-coupons.csv; \
	c1=$$(sed -n 2p $(DEMO_VAR)/vip-coupons.csv | cut -d, -f2); c2=$$(sed -n 3p $(DEMO_VAR)/vip-coupons.csv | cut -d, -f2); \
	c3=$$(sed -n 4p $(DEMO_VAR)/vip-coupons.csv | cut -d, -f2); \
	echo "==> couponbatch redeem $$c1 --store SH-001 --amount-fen 258000 (满2000减300 at a till)"; \
	$$B redeem "$$c1" --store SH-001 --amount-fen 258000 --request-id demo-till-1 --at 2026-12-02T11:30:00+08:00 || true; \
	echo "==> the till retries the same request (nothing changes)"; \
	$$B redeem "$$c1" --store SH-001 --amount-fen 258000 --request-id demo-till-1 --at 2026-12-02T11:30:00+08:00 || true; \
	echo "==> a second till tries the same coupon"; \
	$$B redeem "$$c1" --store SH-002 --amount-fen 300000 --request-id demo-till-2 --at 2026-12-02T11:31:00+08:00 || echo "(exit $$?: refused)"; \
	echo "==> the coupon at a store it is not bound to"; \
	$$B redeem "$$c2" --store GZ-001 --amount-fen 258000 --request-id demo-till-3 --at 2026-12-02T12:00:00+08:00 || echo "(exit $$?: refused)"; \
	echo "==> below the minimum spend"; \
	$$B redeem "$$c2" --store SH-002 --amount-fen 150000 --request-id demo-till-4 --at 2026-12-02T12:05:00+08:00 || echo "(exit $$?: refused)"; \
	echo "==> redeemed, then refunded (redeem --reverse)"; \
	$$B redeem "$$c3" --store BJ-001 --amount-fen 210000 --request-id demo-till-5 --at 2026-12-02T13:00:00+08:00 || true; \
	$$B redeem --reverse demo-till-5 || true; \
	starter=$$(psql "$$DATABASE_URL" -tAc "SELECT id FROM job_runs WHERE job = 'new-member-starter' AND status = 'succeeded' ORDER BY id LIMIT 1"); \
	recall=$$(psql "$$DATABASE_URL" -tAc "SELECT id FROM job_runs WHERE job = 'dormant-recall' AND status = 'succeeded' ORDER BY id LIMIT 1"); \
	{ $$B coupons export --run "$$starter"; $$B coupons export --run "$$recall" | tail -n +2; } > $(DEMO_VAR)/issued.csv; \
	awk -F, "$$DEMO_OFFLINE_AWK" $(DEMO_VAR)/issued.csv > $(DEMO_VAR)/offline-redemptions.csv
	@B=$(RELEASE_BIN); \
	echo "==> couponbatch redemptions import $(DEMO_VAR)/offline-redemptions.csv ($$(($$(wc -l < $(DEMO_VAR)/offline-redemptions.csv) - 1)) rows from an offline till, 5 of them bad)"; \
	$$B redemptions import $(DEMO_VAR)/offline-redemptions.csv || echo "(exit $$?: bad rows listed and written to the reject file, good rows applied)"; \
	echo "==> couponbatch runs --job redemptions-import"; $$B runs --job redemptions-import --limit 3

# The report, once the demo's sweeps have run: what the merchant looks at.
demo-report:
	@B=$(RELEASE_BIN); \
	echo "==> couponbatch report --by template --from 2026-11-17 --to 2026-12-02"; \
	$$B report --by template --from 2026-11-17 --to 2026-12-02 --at 2026-12-02T16:00:00Z; \
	echo "==> couponbatch report --format html"; \
	html=$$($$B report --format html --from 2026-11-17 --to 2026-12-02 --at 2026-12-02T16:00:00Z --output $(DEMO_VAR)/report.html); \
	echo "HTML report: $$html"

# The demo's HTML report in a real headless browser (Debian's chromium, installed if missing):
# the page must render with its three charts and no request leaving the page; the screenshot is
# left in var/demo/report.png for a person to look at. Not part of `make test`.
report-check: demo
	@if ! command -v chromium >/dev/null 2>&1; then \
	  echo "==> installing chromium"; SUDO=$$([ "$$(id -u)" = 0 ] && echo "" || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; fi; \
	page="$(CURDIR)/$(DEMO_VAR)/report.html"; shot="$(CURDIR)/$(DEMO_VAR)/report.png"; rm -f "$$shot"; \
	flags="--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --disable-extensions --user-data-dir=$$(mktemp -d)"; \
	timeout 120 chromium $$flags --window-size=1280,2400 --screenshot="$$shot" "file://$$page" >/dev/null 2>&1; \
	dom=$$(timeout 120 chromium $$flags --dump-dom "file://$$page" 2>/dev/null); \
	svgs=$$(grep -o "<svg" <<< "$$dom" | wc -l); bars=$$(grep -o "<rect" <<< "$$dom" | wc -l); \
	size=$$(stat -c %s "$$shot" 2>/dev/null || echo 0); \
	echo "chromium $$(chromium --version 2>/dev/null | awk '{print $$2}'): $$svgs charts, $$bars bars rendered; screenshot $$shot ($$size bytes)"; \
	[ "$$svgs" -eq 3 ] || { echo "report-check: expected 3 charts in the rendered page" >&2; exit 1; }; \
	[ "$$bars" -gt 10 ] || { echo "report-check: the charts drew no bars" >&2; exit 1; }; \
	[ "$$size" -gt 20000 ] || { echo "report-check: the screenshot is missing or blank" >&2; exit 1; }; \
	! grep -Eq "<script|src=|href=|@import|url\(" "$$page" || { echo "report-check: the page refers to something outside itself" >&2; exit 1; }

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

# Subscription bundles in the demo: plans, sample subscribers (anniversaries on the 29th-31st,
# a date-only start, a short paid term, a quarterly plan), a pause, and a bundle job run at fixed
# slots (Sep 30, Nov 1, Dec 1); then the deliveries and the members' bundle notifications. Safe to repeat: the import is an upsert,
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
	echo "==> couponbatch subscriptions show $$sub (S-1004: anniversary on the 31st)"; $$B subscriptions show "$$sub"; \
	echo "==> bundle notifications: one per member per run, written with the coupons, delivered to local-file"; \
	psql "$$DATABASE_URL" -P pager=off -c "SELECT to_char(n.slot AT TIME ZONE 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') AS slot_shanghai, n.status, count(*) AS notifications, sum(cardinality(n.coupon_ids)) AS coupons FROM notifications n WHERE n.kind = 'bundle' AND n.job = 'monthly-bundles' GROUP BY 1, 2 ORDER BY 1, 2"; \
	echo "==> a bundle notification as the sink got it (S-1004's member, first line of var/notifications.ndjson)"; \
	grep -m1 '"kind":"bundle".*"member_id":104,' var/notifications.ndjson || true

# A migrated template database; each test clones it (CREATE DATABASE … TEMPLATE).
test-db: pg-start build
	@base="$$(cat .pg-url)"; admin="$${base%/*}/postgres"; \
	psql "$$admin" -qc "DROP DATABASE IF EXISTS $(TEMPLATE_DB) WITH (FORCE)" 2>/dev/null || \
	  { psql "$$admin" -qc "ALTER DATABASE $(TEMPLATE_DB) WITH IS_TEMPLATE false" && psql "$$admin" -qc "DROP DATABASE IF EXISTS $(TEMPLATE_DB) WITH (FORCE)"; }; \
	psql "$$admin" -qc "CREATE DATABASE $(TEMPLATE_DB)"; \
	DATABASE_URL="$${base%/*}/$(TEMPLATE_DB)" $(DEBUG_BIN) migrate >/dev/null; \
	psql "$$admin" -qc "ALTER DATABASE $(TEMPLATE_DB) WITH IS_TEMPLATE true ALLOW_CONNECTIONS false"

test: test-db
	@base="$$(cat .pg-url)"; \
	COUPONBATCH_TEST_DATABASE_URL="$${base%/*}/$(TEMPLATE_DB)" COUPONBATCH_BIN="$(CURDIR)/$(DEBUG_BIN)" \
	  $(SWIFT) test

# A second private cluster for `make bench`, durable and with PostgreSQL's default settings (fsync
# on, shared_buffers 128MB, jit on), as a merchant's server has: only its address is set. It lives
# beside the first one ($(PGDATA_DIR)-durable); .pg-durable-url records its URL.
DURABLE_DIR = $(PGDATA_DIR)-durable
bench-pg-start: deps
	@bin="$(PG_BIN)"; dir="$(DURABLE_DIR)"; \
	if [ ! -f "$$dir/PG_VERSION" ]; then \
	  echo "==> creating a durable default-settings PostgreSQL cluster in $$dir"; \
	  mkdir -p "$$dir"; \
	  if [ "$(IS_ROOT)" = yes ]; then chown postgres:postgres "$$dir"; chmod 700 "$$dir"; fi; \
	  $(PG_RUN) "$$bin/initdb" -D "$$dir" -U couponbatch --auth=trust -E UTF8 --no-locale >/dev/null; \
	  port=$$((55000 + 0x$$(echo $(PROJECT_KEY) | cut -c1-4) % 1000)); \
	  while (exec 3<>/dev/tcp/127.0.0.1/$$port) 2>/dev/null; do port=$$((port + 1)); done; \
	  { echo "port = $$port"; echo "listen_addresses = '127.0.0.1'"; echo "unix_socket_directories = '$$dir'"; } \
	    | $(PG_RUN) tee -a "$$dir/postgresql.conf" >/dev/null; \
	fi; \
	port=$$(sed -n "s/^port = \([0-9]*\)/\1/p" "$$dir/postgresql.conf" | tail -1); \
	if ! $(PG_RUN) "$$bin/pg_ctl" -D "$$dir" status >/dev/null 2>&1; then \
	  echo "==> starting the durable bench PostgreSQL on 127.0.0.1:$$port"; \
	  $(PG_RUN) "$$bin/pg_ctl" -D "$$dir" -l "$$dir/server.log" -w -t 60 start >/dev/null; \
	fi; \
	echo "postgresql://couponbatch@127.0.0.1:$$port/couponbatch_bench" > .pg-durable-url

bench-pg-stop:
	@dir="$(DURABLE_DIR)"; if [ -f "$$dir/PG_VERSION" ]; then $(PG_RUN) "$(PG_BIN)/pg_ctl" -D "$$dir" -m fast stop || true; fi

# Benchmarks print couponbatch's figures beside a floor measured in the same run, on both clusters:
# the fast private one (everything), then the durable default-settings one (the issuance cases). On each, a scratch database
# (couponbatch_bench) is created and migrated here; the bench clones fresh databases from it.
bench: pg-start bench-pg-start release
	@for target in "$$(cat .pg-url)|" "$$(cat .pg-durable-url)|--issuance-only"; do \
	  url="$${target%|*}"; only="$${target#*|}"; \
	  admin="$${url%/*}/postgres"; bench="$${url%/*}/couponbatch_bench"; \
	  psql "$$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'couponbatch_bench'" | grep -q 1 || psql "$$admin" -qc "CREATE DATABASE couponbatch_bench"; \
	  DATABASE_URL="$$bench" $(RELEASE_BIN) migrate >/dev/null; \
	  DATABASE_URL="$$bench" $(RELEASE_BIN) bench $$only $(BENCH_ARGS); \
	done; \
	echo "==> the sweeps (issue 9) and the bundles (issue 10) on the durable cluster too"; \
	url="$$(cat .pg-durable-url)"; DATABASE_URL="$${url%/*}/couponbatch_bench" $(RELEASE_BIN) bench --only-sweeps --event-seconds 0 $(SWEEP_BENCH_ARGS); \
	DATABASE_URL="$${url%/*}/couponbatch_bench" $(RELEASE_BIN) bench --only-bundles --event-seconds 0

# One binary: the migrations are compiled in, so the installed file migrates and runs from anywhere.
PREFIX ?= /usr/local
install: release
	install -d "$(PREFIX)/bin"
	install -m 0755 "$(RELEASE_BIN)" "$(PREFIX)/bin/couponbatch"
	@echo "installed $(PREFIX)/bin/couponbatch"

# The console in a real browser: a scratch database with demo runs (one failing), a scheduler serving
# the console, then Tests/ConsoleCheck/console_check.py crawls it and renders pages in Debian's
# chromium (installed here if missing; `make test` never needs it). Screenshots: console-check-out/.
CONSOLE_DB := couponbatch_console
console-check: pg-start build
	@if ! command -v chromium >/dev/null; then \
	  echo "==> installing chromium"; SUDO=$$([ "$$(id -u)" = 0 ] && echo "" || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium >/dev/null; \
	fi
	@base="$$(cat .pg-url)"; admin="$${base%/*}/postgres"; export DATABASE_URL="$${base%/*}/$(CONSOLE_DB)"; \
	export COUPONBATCH_CODE_SECRET="$(DEMO_SECRET)"; B="$(CURDIR)/$(DEBUG_BIN)"; \
	psql "$$admin" -qc "DROP DATABASE IF EXISTS $(CONSOLE_DB) WITH (FORCE)" -qc "CREATE DATABASE $(CONSOLE_DB)"; \
	jobs="$$(mktemp -d)"; out="$(CURDIR)/console-check-out"; rm -rf "$$out"; mkdir -p "$$out"; \
	cp jobs/*.yaml "$$jobs/"; printf 'name: broken-feed\nkind: noop\nmanual_only: true\nfail: true\n' > "$$jobs/broken-feed.yaml"; \
	$$B migrate >/dev/null 2>&1; $$B seed members --count 20000 --seed 42 >/dev/null 2>&1; \
	for job in vip-monthly:2026-12-01T01:00:00Z new-member-starter:2026-11-23T02:00:00Z broken-feed:2026-11-30T02:00:00Z; do \
	  $$B run "$${job%%:*}" --at "$${job#*:}" --jobs-dir "$$jobs" >/dev/null 2>&1 || true; done; \
	$$B scheduler --jobs-dir "$$jobs" --http-port 0 >"$$out/scheduler.out" 2>"$$out/scheduler.err" & pid=$$!; \
	trap 'kill $$pid 2>/dev/null; wait $$pid 2>/dev/null; rm -rf "$$jobs"' EXIT; \
	for i in $$(seq 100); do grep -q '^http: ' "$$out/scheduler.out" 2>/dev/null && break; sleep 0.1; done; \
	url=$$(sed -n 's/^http: .* at \(http[^ ]*\)\/$$/\1/p' "$$out/scheduler.out"); \
	[ -n "$$url" ] || { cat "$$out/scheduler.err" >&2; exit 1; }; \
	echo "==> console at $$url"; python3 Tests/ConsoleCheck/console_check.py "$$url" "$$out"


# The fault-injection suite (Tests/Chaos/scenarios.list; README "Reliability"). It restarts and
# stops PostgreSQL, so it runs only on this checkout's private cluster, never on DATABASE_URL.
# SCENARIOS="02 07" runs a subset.
chaos: pg-start release
	@if [ -n "$${DATABASE_URL:-}" ]; then echo "make chaos restarts PostgreSQL: it runs only on the private cluster (unset DATABASE_URL)" >&2; exit 64; fi; \
	if ! command -v faketime >/dev/null; then \
	  echo "==> installing faketime (scenario 03 skews one host's clock)"; SUDO=$$([ "$$(id -u)" = 0 ] && echo "" || echo sudo); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq faketime >/dev/null; \
	fi; \
	base="$$(cat .pg-url)"; \
	BIN="$(CURDIR)/$(RELEASE_BIN)" BASE_URL="$${base%/*}" ADMIN_URL="$$(echo "$${base%/*}" | sed 's#//couponbatch@#//couponbatch_admin@#')" PG_CTL="$(PG_RUN) $(PG_BIN)/pg_ctl -D $(PGDATA_DIR)" \
	  SCENARIOS="$(SCENARIOS)" bash Tests/Chaos/run.sh

clean: pg-stop bench-pg-stop
	rm -rf .build "$(PGDATA_DIR)" "$(DURABLE_DIR)" .pg-url .pg-location .pg-durable-url

format:
	$(SWIFT) format --in-place --recursive Sources Tests Package.swift

lint:
	$(SWIFT) format lint --strict --recursive Sources Tests Package.swift
