# The server backend of a run's worker hangs mid-chunk (SIGSTOP on that one backend of this
# checkout's cluster): the worker makes no progress, so its runner stops renewing the lease and
# the run is taken over within about two lease lengths; it then finishes once, exactly.
source "$(dirname "$0")/lib.sh"
templates '  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}'
issue_job hung 5000
members=1000000
seed "$members"
slot=2026-11-23T02:00:00Z
lease=5
cb_start run hung --at "$slot" --workers 1 --lease-seconds $lease >"$WORK_DIR/outA" 2>"$WORK_DIR/errA"
a=$!
wait_for "SELECT count(*) >= 3 FROM run_chunks" 60
backend=""
until [ -n "$backend" ]; do
  # The chunk statement (a WITH … INSERT INTO coupons …) of the run's one worker.
  backend=$(q "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND application_name = 'couponbatch' AND state = 'active' AND query LIKE '%INSERT INTO coupons%' LIMIT 1")
  [ "$(q "SELECT status FROM job_runs WHERE slot = '$slot'")" = running ] || fail "the run ended before a chunk could be caught in flight"
done
kill -STOP "$backend"
t0=$(date +%s.%N)
until [ "$(q "SELECT attempt FROM job_runs WHERE slot = '$slot'")" -ge 2 ]; do
  cb_start run hung --at "$slot" --workers 2 --lease-seconds $lease >"$WORK_DIR/outB" 2>"$WORK_DIR/errB"
  b=$!
  sleep 0.5
  if [ "$(q "SELECT attempt FROM job_runs WHERE slot = '$slot'")" -ge 2 ]; then break; fi
  wait "$b" || true
done
takeover=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
# Let the hung backend go: it finds its client gone and rolls back, freeing the keys B waits on.
kill -CONT "$backend"
rc=0; wait "$b" || rc=$?
if [ "$rc" = 75 ]; then
  until cb run hung --at "$slot" --workers 2 --lease-seconds $lease >"$WORK_DIR/outB" 2>"$WORK_DIR/errB"; do sleep 0.5; done
elif [ "$rc" != 0 ]; then fail "runner B exited $rc: $(tail -3 "$WORK_DIR/errB")"; fi
rcA=0; wait "$a" || rcA=$?
expect_eq "exit of the stalled runner" "$rcA" 75
awk -v t="$takeover" -v l="$lease" 'BEGIN { exit !(t <= 2 * l + 2) }' || fail "takeover took $takeover s with a $lease s lease"
run=$(q "SELECT id FROM job_runs WHERE slot = '$slot'")
check_exact "$run" "$members"
figures "backend hung mid-chunk, taken over after $takeover s (lease $lease s), stalled runner exit 75, coupons checked $members, duplicates 0"
