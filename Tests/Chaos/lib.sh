# Shared by the chaos scenarios. `run.sh` sets BIN, BASE_URL, PG_CTL (a command that controls
# THIS checkout's private cluster only), SCENARIO and CHAOS_DB (a fresh, migrated database).
set -euo pipefail
: "${BIN:?}" "${BASE_URL:?}" "${SCENARIO:?}" "${CHAOS_DB:?}"
DB_URL="$BASE_URL/$CHAOS_DB"
export COUPONBATCH_CODE_SECRET="chaos-secret-not-for-production-0123456789"
JOBS_DIR=$(mktemp -d)
WORK_DIR=$(mktemp -d)
trap 'rm -rf "$JOBS_DIR" "$WORK_DIR"; jobs -p | xargs -r kill -9 2>/dev/null || true' EXIT

# One value from the scenario's database.
q() { psql "$DB_URL" -tAXq -c "$1"; }

# Waits until the query answers true (t), up to $2 seconds.
wait_for() {
  local sql=$1 limit=${2:-60} start=$SECONDS
  until [ "$(q "$sql" 2>/dev/null || true)" = t ]; do
    if (( SECONDS - start > limit )); then fail "timed out waiting for: $sql"; fi
    sleep 0.05
  done
}

fail() { echo "FAIL $SCENARIO: $*" >&2; exit 1; }
expect_eq() { [ "$2" = "$3" ] || fail "$1: got '$2', want '$3'"; }

cb() { "$BIN" "$@" --jobs-dir "$JOBS_DIR" --database-url "$DB_URL"; }
# `cb … &` would background a subshell, and a signal sent to $! would miss the runner itself:
# cb_start starts the binary in the background directly, so $! is the runner's own pid.
cb_start() { "$BIN" "$@" --jobs-dir "$JOBS_DIR" --database-url "$DB_URL" & }

templates() { printf 'templates:\n%s\n' "$1" > "$JOBS_DIR/templates.yaml"; }

# issue_job NAME CHUNK_SIZE [SEGMENT]: a manual issue job of one cash coupon per member.
issue_job() {
  cat > "$JOBS_DIR/$1.yaml" <<YAML
name: $1
kind: issue
manual_only: true
timezone: Asia/Shanghai
segment: ${3:-everyone}
chunk_size: $2
coupons:
  - {template: cash}
YAML
}

seed() { cb seed members --count "$1" --seed 7 >/dev/null; }

pg_restart() { $PG_CTL -m fast -w -t 120 restart >/dev/null; }
pg_stop() { $PG_CTL -m fast -w stop >/dev/null; }
pg_start() { $PG_CTL -w -t 120 start >/dev/null; }

# The exactness checks every issuance scenario ends with: one coupon per member of the run,
# stock counter equal to the coupons written, counts equal to rows, no run left open.
check_exact() {
  local run=$1 members=$2
  expect_eq "coupons of run $run" "$(q "SELECT count(*) FROM coupons WHERE run_id = $run")" "$members"
  expect_eq "duplicates in run $run" "$(q "SELECT count(*) - count(DISTINCT member_id) FROM coupons WHERE run_id = $run")" 0
  expect_eq "counts of run $run" "$(q "SELECT (counts->>'coupons_issued')::bigint FROM job_runs WHERE id = $run")" "$members"
  expect_eq "stock vs rows" "$(q "SELECT count(*) FROM template_stock s WHERE s.issued <> (SELECT count(*) FROM coupons c WHERE c.template_key = s.key)")" 0
  expect_eq "open runs" "$(q "SELECT count(*) FROM job_runs WHERE status IN ('running', 'pending')")" 0
}

# The scenario's one line of figures.
figures() { echo "$SCENARIO: $*"; }
