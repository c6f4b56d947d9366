# The sql: segment attacks of issue 8, each from a job file: refused by the server (the segment
# runs as a read-only role), or without effect on the run's connection and on other sessions.
source "$(dirname "$0")/lib.sh"
templates '  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}'
seed 3000
sql_job() { issue_job "$1" 500 "{sql: \"$2\"}"; }
refused=0; harmless=0
attack_refused() {
  local rc=0; cb run "$1" --at 2026-11-23T02:00:00Z >"$WORK_DIR/out" 2>&1 || rc=$?
  expect_eq "exit of $1" "$rc" 1
  grep -Eq "$2" "$WORK_DIR/out" || fail "$1: not refused as expected: $(cat "$WORK_DIR/out")"
  refused=$((refused + 1))
}
# A bystander session of the application role, as another runner would be.
psql "$DB_URL" -qX -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
bystander=$!
wait_for "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()" 10
sql_job terminate "SELECT id FROM members WHERE (SELECT bool_or(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = 'couponbatch') IS NOT NULL"
attack_refused terminate "permission denied|must be a member|must be a superuser"
kill -0 "$bystander" || fail "the bystander session was terminated"
sql_job readfile "SELECT id FROM members WHERE length(pg_read_file('postgresql.conf')) > 0"
attack_refused readfile "permission denied"
sql_job writer "WITH gone AS (DELETE FROM members RETURNING id) SELECT id FROM gone"
attack_refused writer "must only read|permission denied"
expect_eq "members after the write attempt" "$(q "SELECT count(*) FROM members")" 3000
sql_job grantself "SELECT id FROM members WHERE set_config('role', 'couponbatch', false) IS NOT NULL"
attack_refused grantself "permission denied"
# Settings and session locks: allowed inside the sandbox, gone with its connection.
sql_job settings "SELECT id FROM members WHERE set_config('DateStyle', 'SQL, DMY', false) IS NOT NULL AND set_config('search_path', 'pg_catalog', false) IS NOT NULL AND set_config('TimeZone', 'America/New_York', false) IS NOT NULL AND pg_try_advisory_lock(42)"
cb run settings --at 2026-11-23T02:00:00Z >/dev/null || fail "the settings run failed"
check_exact "$(q "SELECT id FROM job_runs WHERE job = 'settings'")" 3000
expect_eq "advisory locks left" "$(q "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")" 0
harmless=$((harmless + 1))
kill "$bystander" 2>/dev/null || true
expect_eq "superuser application role" "$(q "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")" f
figures "attacks $((refused + harmless)): refused $refused, without effect $harmless, other sessions terminated 0, members changed 0"
