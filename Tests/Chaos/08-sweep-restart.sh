# PostgreSQL restarted (pg_ctl restart -m fast) in the middle of a remind run (the outbox, then
# delivery to a file sink) and in the middle of each of two expire runs (the second bounded below by
# the first): all exit 0, every expiring coupon
# is in exactly one notification of the reminder job and expired exactly once, a second reminder
# sweep over the same window adds nothing, counts equal rows, every notification is delivered and
# in the file (at least once: a batch written before the restart may be written again).
source "$(dirname "$0")/lib.sh"
members=200000
per=3
seed "$members"
q "INSERT INTO coupon_templates (key, version, fingerprint, type, spec, face_value_fen)
   VALUES ('cash', 1, 'chaos', 'cash', '{\"title\": \"chaos\"}', 1000)" >/dev/null
# $per coupons a member, expiring 20, 40 and 60 hours after the reminder's slot.
q "INSERT INTO coupons (template_key, template_version, member_id, run_id, seq, face_value_fen, issued_at, valid_from, expires_at)
   SELECT 'cash', 1, m.id, 0, k, 1000, '2026-11-13T00:00:00Z', '2026-11-13T00:00:00Z',
          timestamptz '2026-11-20T02:00:00Z' + make_interval(hours => 20 * k)
   FROM members m CROSS JOIN generate_series(1, $per) k" >/dev/null
coupons=$((members * per))
out="$WORK_DIR/notifications.ndjson"
printf 'sinks:\n  - {name: out, type: file, path: "%s", batch_size: 500}\n' "$out" > "$JOBS_DIR/sinks.yaml"
cat > "$JOBS_DIR/remind-chaos.yaml" <<YAML
name: remind-chaos
kind: remind
manual_only: true
timezone: Asia/Shanghai
remind: {before: 3d}
sink: out
chunk_size: 2000
YAML
cat > "$JOBS_DIR/expire-chaos.yaml" <<YAML
name: expire-chaos
kind: expire
manual_only: true
timezone: Asia/Shanghai
chunk_size: 2000
YAML

# Starts `run JOB --at SLOT`, restarts PostgreSQL once 3 of its chunks are committed, and expects exit 0.
run_with_restart() {
  local job=$1 slot=$2
  cb_start run "$job" --at "$slot" --workers 2 --lease-seconds 10 >"$WORK_DIR/out-$job" 2>"$WORK_DIR/err-$job"
  local pid=$!
  wait_for "SELECT count(*) >= 3 FROM run_chunks c JOIN job_runs r ON r.id = c.run_id WHERE r.job = '$job' AND r.slot = '$slot'" 120
  if [ "$(q "SELECT status FROM job_runs WHERE job = '$job' AND slot = '$slot'")" != running ]; then fail "$job ended before the fault"; fi
  pg_restart
  local rc=0; wait "$pid" || rc=$?
  expect_eq "exit of $job ($(tail -3 "$WORK_DIR/err-$job"))" "$rc" 0
  expect_eq "open runs" "$(q "SELECT count(*) FROM job_runs WHERE status IN ('running', 'pending')")" 0
}

run_with_restart remind-chaos 2026-11-20T02:00:00Z
expect_eq "notifications (one per member)" "$(q "SELECT count(*) FROM notifications")" "$members"
expect_eq "coupons in notifications" "$(q "SELECT sum(cardinality(coupon_ids)) FROM notifications")" "$coupons"
expect_eq "distinct coupons reminded" "$(q "SELECT count(DISTINCT x) FROM notifications, unnest(coupon_ids) x")" "$coupons"
expect_eq "counts of the remind run" "$(q "SELECT counts->>'notifications' || ' ' || (counts->>'coupons_reminded') FROM job_runs WHERE job = 'remind-chaos'")" "$members $coupons"
# The run delivers after building the outbox; what it left (a batch it was sending at the restart) is delivered now.
cb notifications deliver --sink out >/dev/null
expect_eq "delivered" "$(q "SELECT count(*) FROM notifications WHERE status = 'delivered'")" "$members"
lines=$(wc -l <"$out")
ids=$(python3 -c 'import json,sys; print(len({json.loads(l)["id"] for l in open(sys.argv[1])}))' "$out")
expect_eq "distinct ids in the file" "$ids" "$members"
# A second sweep whose window holds the same coupons reminds none of them again.
cb run remind-chaos --at 2026-11-20T06:00:00Z >/dev/null 2>"$WORK_DIR/err-second"
expect_eq "notifications after a second sweep" "$(q "SELECT count(*) FROM notifications")" "$members"

# Two expire sweeps, each with a restart: the first (unbounded) expires the coupons of k = 1 and 2,
# the second, bounded below by the first (ExpirySweepBound), those of k = 3.
run_with_restart expire-chaos 2026-11-21T20:00:00Z
expect_eq "expired by the first sweep" "$(q "SELECT count(*) FROM coupons WHERE status = 'expired'")" "$((members * 2))"
run_with_restart expire-chaos 2026-11-24T02:00:00Z
expect_eq "the second sweep's window is bounded below" \
  "$(q "SELECT (checkpoint->'plan'->>'payload')::jsonb->'window' ? 'afterMicros' FROM job_runs WHERE job = 'expire-chaos' AND slot = '2026-11-24T02:00:00Z'")" t
expect_eq "expired" "$(q "SELECT count(*) FROM coupons WHERE status = 'expired'")" "$coupons"
expect_eq "still active" "$(q "SELECT count(*) FROM coupons WHERE status = 'active'")" 0
expect_eq "counts of the expire runs" "$(q "SELECT string_agg(counts->>'coupons_expired', ' ' ORDER BY slot) FROM job_runs WHERE job = 'expire-chaos'")" "$((members * 2)) $members"
figures "restarts 3 (remind, expire twice, the second bounded below), runs exited 0: 3 of 3, coupons reminded once $coupons, notifications $members, file lines $lines (duplicates $((lines - members))), expired $coupons"
