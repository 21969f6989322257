#!/usr/bin/env bash
# rollback_database.sh - restore the todo database from the pre-migration backup.
#
# Adapted from the MIG-002 plan's "Database Rollback Script". Every parameter
# comes from the environment (Ripcord passes the incident environment's
# variables); nothing about the target is written here:
#   PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD  libpq connection (read by psql/pg_restore)
#   BACKUP_FILE       custom-format dump taken before the migration (pg_dump -Fc)
#   COMPOSE_PROJECT   docker-compose project of the todo app; empty where the
#                     environment has no containers (the demo): writes were then
#                     stopped at the database by the "Stop all write operations" step
#   API_SERVICE       compose service that writes to the database
# Not idempotent: --clean drops and recreates what is in the backup. The
# runbook gates this step behind the incident commander's approval.
set -euo pipefail

: "${PGHOST:?PGHOST is required}"
: "${PGDATABASE:?PGDATABASE is required}"
: "${PGUSER:?PGUSER is required}"
: "${BACKUP_FILE:?BACKUP_FILE is required}"
: "${COMPOSE_PROJECT?COMPOSE_PROJECT must be set (empty: no containers to stop)}"
: "${API_SERVICE:?API_SERVICE is required}"

echo "Starting database rollback of ${PGDATABASE} on ${PGHOST}..."

# Refuse before touching anything if the backup is missing or unreadable.
if [[ ! -r "$BACKUP_FILE" ]]; then
  echo "Backup file ${BACKUP_FILE} is missing or unreadable" >&2
  exit 2
fi
pg_restore --list "$BACKUP_FILE" > /dev/null

# Stop application services (the plan's "scale api=0"): no writes during the restore.
if [[ -n "$COMPOSE_PROJECT" ]]; then
  docker-compose --project-name "$COMPOSE_PROJECT" stop "$API_SERVICE"
else
  echo "No application containers in this environment; writes are stopped at the database."
fi

# "Stop all write operations" may have made the database read-only for new
# sessions; the restore's own sessions must write.
export PGOPTIONS="-c default_transaction_read_only=off"

# Restore from backup. --if-exists keeps --clean quiet about objects the
# migration already removed; --exit-on-error stops at the first failure.
# --single-transaction: a restore that fails half-way leaves the database as it was.
# Its messages go to stderr as they come, and to a file read if it fails.
errors="$(mktemp)"
trap 'rm -f "$errors"' EXIT
restore() {
  pg_restore --verbose --clean --if-exists --no-acl --no-owner --exit-on-error --single-transaction \
    --dbname "$PGDATABASE" "$BACKUP_FILE" 2>&1 >&3 | tee "$errors" >&2
}

# The application still reads (read-only) while this runs, and its queries take their
# locks in another order than --clean drops and recreates: PostgreSQL may end a deadlock
# by failing the restore. The restore was one transaction, so nothing of it stayed:
# it is tried again, three attempts at most. Any other failure stops here.
attempts=3
for ((attempt = 1; ; attempt++)); do
  restore 3>&1 && break
  status=$?  # pg_restore's own (pipefail)
  if ((attempt < attempts)) && grep -q "deadlock detected" "$errors"; then
    echo "The restore was chosen as a deadlock's victim and rolled back whole; trying again (attempt $((attempt + 1)) of ${attempts})."
    sleep 1
    continue
  fi
  exit "$status"
done

# Update sequences for integer IDs. The sequence is looked up rather than
# named, so this holds whatever the serial columns' sequences are called.
psql --no-psqlrc --set ON_ERROR_STOP=1 --dbname "$PGDATABASE" <<'SQL'
SELECT setval(pg_get_serial_sequence('users', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM users;
SELECT setval(pg_get_serial_sequence('tasks', 'id'), COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) FROM tasks;
SQL

# pg_restore brings back rows, not the planner's statistics: until they are gathered
# again (autovacuum may take minutes on a busy server), queries can pick poor plans and
# the "p95 back at baseline" criterion is measured on a slower database than the one
# that was backed up. Gather them now.
psql --no-psqlrc --set ON_ERROR_STOP=1 --dbname "$PGDATABASE" --command "ANALYZE;"
echo "Planner statistics gathered (ANALYZE)."

echo "Database rollback completed."
