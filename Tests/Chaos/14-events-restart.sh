# Member events keep arriving while PostgreSQL is restarted twice under two schedulers: senders
# retry a refused insert (same external id), schedulers reconnect, and in the end every event
# has exactly one outcome and exactly one coupon — none lost, none twice.
source "$(dirname "$0")/lib.sh"
templates '  - {key: cash, type: cash, off_fen: 500, validity: {days: 7}}'
cat > "$JOBS_DIR/thanks.yaml" <<YAML
name: thanks
kind: issue
trigger: {event: payment, within: 1h}
segment: everyone
coupons: [{template: cash}]
YAML
seed 5000
"$BIN" scheduler --event-poll-seconds 1 --jobs-dir "$JOBS_DIR" --database-url "$DB_URL" >"$WORK_DIR/s1" 2>&1 & s1=$!
"$BIN" scheduler --event-poll-seconds 1 --jobs-dir "$JOBS_DIR" --database-url "$DB_URL" >"$WORK_DIR/s2" 2>&1 & s2=$!
events=600
# The sender: ten events per INSERT, a refused one retried until the server takes it
# (idempotent by external id, as a merchant's sender retries).
(
  for from in $(seq 1 10 "$events"); do
    until psql "$DB_URL" -qX -c "INSERT INTO member_events (external_id, member_id, type, amount_fen, occurred_at)
        SELECT 'chaos-' || g, (g * 37) % 5000 + 1, 'payment', 12000, now() FROM generate_series($from, $((from + 9))) g
        ON CONFLICT (external_id) DO NOTHING" >/dev/null 2>&1; do
      sleep 0.1
    done
    sleep 0.05
  done
) & sender=$!
wait_for "SELECT count(*) >= 150 FROM member_events" 60
pg_restart
wait_for "SELECT count(*) >= 350 FROM member_events" 60
pg_restart
wait "$sender"
wait_for "SELECT NOT EXISTS (SELECT 1 FROM member_events e WHERE NOT EXISTS (SELECT 1 FROM trigger_outcomes o WHERE o.event_id = e.id))" 120
kill -TERM "$s1" "$s2"
rc1=0; wait "$s1" || rc1=$?
rc2=0; wait "$s2" || rc2=$?
expect_eq "scheduler exits" "$rc1 $rc2" "0 0"
expect_eq "events recorded" "$(q "SELECT count(*) FROM member_events")" "$events"
expect_eq "outcomes" "$(q "SELECT count(*) FROM trigger_outcomes WHERE job = 'thanks' AND outcome = 'issued'")" "$events"
expect_eq "coupons" "$(q "SELECT count(*) FROM coupons")" "$events"
expect_eq "events with a coupon" "$(q "SELECT count(DISTINCT event_id) FROM coupons")" "$events"
expect_eq "stock vs rows" "$(q "SELECT issued FROM template_stock WHERE key = 'cash'")" "$events"
expect_eq "open runs" "$(q "SELECT count(*) FROM job_runs WHERE status <> 'succeeded'")" 0
batches=$(q "SELECT count(*) FROM job_runs WHERE trigger = 'event'")
reconnects=$(cat "$WORK_DIR/s1" "$WORK_DIR/s2" | grep -c "reconnecting" || true)
figures "restarts 2 while $events events arrived; batches $batches, event-loop reconnects $reconnects, outcomes $events, coupons $events, lost 0, duplicates 0"
