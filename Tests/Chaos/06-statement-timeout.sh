# A chunk that runs past its statement timeout (its inserts blocked by another transaction)
# rolls back: the run fails clearly, nothing half-written; once the lock is gone a new run
# issues exactly.
source "$(dirname "$0")/lib.sh"
templates '  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}, stock: 1000000}'
issue_job slow 5000
members=50000
seed "$members"
cb run slow --at 2026-11-22T02:00:00Z >/dev/null
# Another session blocks inserts into coupons for 8 s (planning only reads them), after the
# failing run's first chunks have committed.
psql "$DB_URL" -qX -c "BEGIN" -c "LOCK TABLE coupons IN SHARE MODE" -c "SELECT pg_sleep(8)" -c "ROLLBACK" >/dev/null &
holder=$!
wait_for "SELECT count(*) > 0 FROM pg_locks WHERE relation = 'coupons'::regclass AND mode = 'ShareLock' AND granted" 10
rc=0; cb run slow --at 2026-11-23T02:00:00Z --statement-timeout-seconds 1 >"$WORK_DIR/out" 2>&1 || rc=$?
wait "$holder"
expect_eq "exit of the timed-out run" "$rc" 1
grep -q "statement timeout" "$WORK_DIR/out" || fail "the failure does not say why: $(cat "$WORK_DIR/out")"
failed=$(q "SELECT id FROM job_runs WHERE slot = '2026-11-23T02:00:00Z'")
expect_eq "status" "$(q "SELECT status FROM job_runs WHERE id = $failed")" failed
expect_eq "coupons of the failed run beyond its committed chunks" \
  "$(q "SELECT count(*) - coalesce((SELECT sum((counts->>'coupons_issued')::bigint) FROM run_chunks WHERE run_id = $failed), 0) FROM coupons WHERE run_id = $failed")" 0
# What the failed run still holds is returned when the template's next run plans.
expect_eq "stock vs rows and reservations" "$(q "SELECT issued - (SELECT coalesce(sum(reserved), 0) FROM issue_stock_reservations) FROM template_stock WHERE key = 'cash'")" "$(q "SELECT count(*) FROM coupons")"
cb run slow --at 2026-11-24T02:00:00Z >/dev/null
check_exact "$(q "SELECT id FROM job_runs WHERE slot = '2026-11-24T02:00:00Z'")" "$members"
figures "statement timeouts 1, run failed with exit 1 naming the timeout, half-written chunks 0, stock equal to rows, next run exact ($members coupons)"
