# Three schedulers and random ticks over three real minutes of every-minute jobs, one scheduler
# (and some ticks) on a host clock an hour ahead (libfaketime): every due slot ran exactly once,
# none before its time by the database's clock, none from the skewed host's future.
source "$(dirname "$0")/lib.sh"
# libfaketime preloaded into the binary itself (not the `faketime` wrapper, which would stand
# between a signal and the scheduler): its clock reads an hour ahead of this host's.
faketime_lib=$(ls /usr/lib/*/faketime/libfaketimeMT.so.1 2>/dev/null | head -1)
[ -n "$faketime_lib" ] || fail "libfaketime is missing (make chaos installs the faketime package)"
jobs=12
for i in $(seq -w 1 $jobs); do
  cat > "$JOBS_DIR/every-$i.yaml" <<YAML
name: every-$i
kind: noop
schedule: "* * * * *"
timezone: Asia/Shanghai
chunks: 3
sleep_ms: 20
YAML
done
started=$(q "SELECT now()")
pids=()
for host in normal normal ahead; do
  if [ "$host" = ahead ]; then
    LD_PRELOAD="$faketime_lib" FAKETIME="+1h" "$BIN" scheduler --poll-seconds 1 --workers 2 --jobs-dir "$JOBS_DIR" --database-url "$DB_URL" >/dev/null 2>"$WORK_DIR/sched-$host-${#pids[@]}" &
  else
    "$BIN" scheduler --poll-seconds 1 --workers 2 --jobs-dir "$JOBS_DIR" --database-url "$DB_URL" >/dev/null 2>"$WORK_DIR/sched-$host-${#pids[@]}" &
  fi
  pids+=($!)
done
# The skew is real: the wrapped process's clock reads an hour ahead of this one.
skew=$(( $(LD_PRELOAD="$faketime_lib" FAKETIME="+1h" date +%s) - $(date +%s) ))
(( skew >= 3590 )) || fail "faketime did not skew the clock ($skew s)"
ticks=0
until [ "$(q "SELECT now() >= '$started'::timestamptz + interval '180 seconds'")" = t ]; do
  sleep "$(awk -v r="$RANDOM" 'BEGIN { printf "%.1f", 1 + (r % 60) / 10 }')"
  if (( RANDOM % 2 )); then LD_PRELOAD="$faketime_lib" FAKETIME="+1h" "$BIN" tick --jobs-dir "$JOBS_DIR" --database-url "$DB_URL" >/dev/null 2>>"$WORK_DIR/ticks" || true
  else cb tick >/dev/null 2>>"$WORK_DIR/ticks" || true; fi
  ticks=$((ticks + 1))
done
for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
for pid in "${pids[@]}"; do
  rc=0; wait "$pid" || rc=$?
  [ "$rc" = 0 ] || fail "scheduler $pid exited $rc: $(tail -n 5 "$WORK_DIR"/sched-*)"
done
ended=$(q "SELECT now()")
# Runs a stopped scheduler left (released leases) are finished by one more tick.
cb tick >/dev/null 2>>"$WORK_DIR/ticks" || true
expect_eq "runs from the skewed host's future" "$(q "SELECT count(*) FROM job_runs WHERE slot > '$ended'::timestamptz")" 0
expect_eq "runs started before their slot" "$(q "SELECT count(*) FROM job_runs WHERE started_at < slot")" 0
expect_eq "runs not succeeded" "$(q "SELECT count(*) FROM job_runs WHERE status <> 'succeeded'")" 0
# Every minute between a job's first and last slot ran once (the ledger's UNIQUE (job, slot) makes
# "at most once" structural; this checks "at least once").
expect_eq "jobs with a missed minute" "$(q "
  SELECT count(*) FROM (
    SELECT job FROM job_runs GROUP BY job
    HAVING count(*) <> extract(epoch FROM max(slot) - min(slot))::int / 60 + 1) gaps")" 0
slots=$(q "SELECT count(*) FROM job_runs")
per_job=$(q "SELECT min(n) FROM (SELECT count(*) AS n FROM job_runs GROUP BY job) x")
(( per_job >= 2 )) || fail "each job should have run at least twice in three minutes, got $per_job"
expect_eq "jobs that ran" "$(q "SELECT count(DISTINCT job) FROM job_runs")" "$jobs"
# A job first seen mid-minute runs that minute's slot at once (its cursor starts a minute back), up
# to 59 s after the slot: the lag that measures the runners is that of the slots after each job's first.
lag=$(q "SELECT round(extract(epoch FROM max(started_at - slot))::numeric, 2) FROM job_runs r
         WHERE trigger = 'schedule' AND slot > (SELECT min(slot) FROM job_runs f WHERE f.job = r.job)")
figures "3 schedulers (one host clock +1 h) and $ticks random ticks over 3 min: $jobs jobs, $slots slots each run once, 0 early, 0 from the future, max start lag $lag s after each job's first slot"
