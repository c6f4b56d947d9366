#!/usr/bin/env bash
# Runs the chaos scenarios of scenarios.list (or those whose number is in $SCENARIOS), each on a
# fresh database of this checkout's private cluster, and prints each one's line of figures.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
: "${BIN:?}" "${BASE_URL:?}" "${PG_CTL:?}"
export BIN BASE_URL PG_CTL
# Databases are made and dropped as the cluster's superuser: DROP … WITH (FORCE) must also end
# autovacuum workers, which the application role (no superuser) may not.
admin="${ADMIN_URL:-$BASE_URL}/postgres"
failed=0
started=$SECONDS
while read -r script description; do
  [[ -z "$script" || "$script" == \#* ]] && continue
  number=${script%%-*}
  if [ -n "${SCENARIOS:-}" ] && ! [[ " $SCENARIOS " == *" $number "* ]]; then continue; fi
  db="chaos_${number}"
  psql "$admin" -qX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db OWNER couponbatch" >/dev/null
  DATABASE_URL="$BASE_URL/$db" "$BIN" migrate >/dev/null
  echo "==> $script: $description"
  t0=$SECONDS
  if SCENARIO="${script%.sh}" CHAOS_DB="$db" bash "$here/$script"; then
    echo "    ok in $((SECONDS - t0)) s"
    psql "$admin" -qX -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null || true
  else
    echo "    FAILED after $((SECONDS - t0)) s (database $db kept for inspection)"
    failed=1
  fi
done < "$here/scenarios.list"
echo "chaos: $((SECONDS - started)) s in all"
exit $failed
