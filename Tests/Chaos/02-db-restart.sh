# PostgreSQL restarted (pg_ctl restart -m fast) in the middle of an issuance, twice, and stopped
# for 20 seconds once: `run` exits 0 each time, prints what an undisturbed run prints, and the
# counts are exact.
source "$(dirname "$0")/lib.sh"
templates '  - {key: cash, type: cash, off_fen: 1000, validity: {days: 7}}'
issue_job restart 2000
members=400000
seed "$members"
normalize() { head -1 | sed -E 's/^run [0-9]+ /run N /; s/slot [^ ]+ /slot S /; s/ in [0-9.]+ s/ in T s/'; }
cb run restart --at 2026-11-20T02:00:00Z --workers 2 | normalize >"$WORK_DIR/reference"
check_exact "$(q "SELECT id FROM job_runs WHERE slot = '2026-11-20T02:00:00Z'")" "$members"
checked=$members; retries=0
for i in 1 2 3; do
  slot="2026-11-2${i}T02:00:00Z"
  cb_start run restart --at "$slot" --workers 2 --lease-seconds 10 >"$WORK_DIR/out$i" 2>"$WORK_DIR/err$i"
  pid=$!
  wait_for "SELECT count(*) >= 3 FROM run_chunks c JOIN job_runs r ON r.id = c.run_id WHERE r.slot = '$slot'" 60
  if [ "$(q "SELECT status FROM job_runs WHERE slot = '$slot'")" != running ]; then fail "run $i ended before the fault"; fi
  if (( i < 3 )); then pg_restart; else pg_stop; sleep 20; pg_start; fi
  rc=0; wait "$pid" || rc=$?
  expect_eq "exit of run $i ($(tail -3 "$WORK_DIR/err$i"))" "$rc" 0
  expect_eq "output of run $i" "$(normalize <"$WORK_DIR/out$i")" "$(cat "$WORK_DIR/reference")"
  check_exact "$(q "SELECT id FROM job_runs WHERE slot = '$slot'")" "$members"
  checked=$((checked + members))
  retries=$((retries + $(grep -c "trying again" "$WORK_DIR/err$i" || true)))
done
figures "restarts 2, outage 20 s once, runs exited 0: 3 of 3, same output as undisturbed, reconnect retries $retries, coupons checked $checked, duplicates 0"
