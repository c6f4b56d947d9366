# SIGKILL the runner at 20 random moments of 1M-member issuances (short leases so takeovers are
# quick): exactly one coupon per member per run, stock equal to rows, no run left running.
source "$(dirname "$0")/lib.sh"
templates '  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}, stock: 100000000}'
issue_job big 10000
seed 1000000
kills=0; starts=0; runs=0
slot_of() { date -u -d "2026-11-01 + $1 days" +%Y-%m-%dT02:00:00Z; }
# An undisturbed run first: its duration bounds the moments the kills are drawn from.
t0=$(date +%s%N)
cb run big --at "$(slot_of 0)" --workers 2 --lease-seconds 1 >/dev/null
span_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
runs=1
slot=$(slot_of 1)
while (( kills < 20 )); do
  # The killed runner's lease must lapse before a new runner can resume the run.
  wait_for "SELECT coalesce(bool_and(lease_until < now()), true) FROM job_runs WHERE status = 'running'" 30
  starts=$((starts + 1))
  cb_start run big --at "$slot" --workers 2 --lease-seconds 1 >"$WORK_DIR/out" 2>"$WORK_DIR/err"
  pid=$!
  # A random moment of the run: planning, a chunk in flight, a commit, or finishing.
  sleep "$(awk -v r="$RANDOM" -v s="$span_ms" 'BEGIN { printf "%.3f", 0.05 + (r % 1000) / 1000 * s / 1000 }')"
  if kill -9 "$pid" 2>/dev/null; then
    wait "$pid" 2>/dev/null || true
    kills=$((kills + 1))
  else
    rc=0; wait "$pid" || rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 75 ] || fail "run exited $rc: $(cat "$WORK_DIR/err")"
  fi
  if [ "$(q "SELECT status FROM job_runs WHERE slot = '$slot'")" = succeeded ]; then
    runs=$((runs + 1)); slot=$(slot_of "$runs")
  fi
done
# Finish the run that was killed last.
until cb run big --at "$slot" --workers 2 --lease-seconds 1 >"$WORK_DIR/out" 2>"$WORK_DIR/err"; do
  rc=$?; [ "$rc" = 75 ] || fail "final run exited $rc: $(cat "$WORK_DIR/err")"; sleep 0.3
done
checked=0
for run in $(q "SELECT id FROM job_runs ORDER BY id"); do
  check_exact "$run" 1000000
  checked=$((checked + 1000000))
done
takeovers=$(q "SELECT coalesce(sum(attempt - 1), 0) FROM job_runs")
figures "kills 20 (at random moments of a ${span_ms} ms run), starts $starts, runs $(q "SELECT count(*) FROM job_runs"), takeovers $takeovers, coupons checked $checked, duplicates 0, stock equal to rows"
