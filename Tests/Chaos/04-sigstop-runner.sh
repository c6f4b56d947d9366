# A runner stopped with SIGSTOP past its lease, then continued: another runner takes the run
# over and finishes it; the stopped runner's late commits are refused (exit 75) and the run
# finished once with exact counts.
source "$(dirname "$0")/lib.sh"
templates '  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}'
issue_job frozen 2000
members=200000
seed "$members"
slot=2026-11-23T02:00:00Z
cb_start run frozen --at "$slot" --workers 1 --lease-seconds 2 >"$WORK_DIR/outA" 2>"$WORK_DIR/errA"
a=$!
wait_for "SELECT count(*) >= 5 FROM run_chunks" 60
kill -STOP "$a"
stopped_at=$SECONDS
until cb run frozen --at "$slot" --workers 2 --lease-seconds 2 >"$WORK_DIR/outB" 2>"$WORK_DIR/errB"; do
  rc=$?; [ "$rc" = 75 ] || fail "runner B exited $rc: $(tail -3 "$WORK_DIR/errB")"; sleep 0.3
done
kill -CONT "$a"
rc=0; wait "$a" || rc=$?
expect_eq "exit of the stopped runner" "$rc" 75
run=$(q "SELECT id FROM job_runs WHERE slot = '$slot'")
expect_eq "status" "$(q "SELECT status FROM job_runs WHERE id = $run")" succeeded
check_exact "$run" "$members"
by_a=$(q "SELECT count(*) FROM run_chunks WHERE run_id = $run AND attempt = 1")
figures "stopped for $((SECONDS - stopped_at)) s with a 2 s lease, attempts $(q "SELECT attempt FROM job_runs WHERE id = $run"), chunks by the stopped runner $by_a (none after its lease), its exit 75, coupons checked $members, duplicates 0"
