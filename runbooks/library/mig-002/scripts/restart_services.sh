#!/usr/bin/env bash
# restart_services.sh - restart the todo application and wait until it answers healthy.
#
# The plan's "Restart services" (ensure clean state after rollback): the
# application's processes are restarted, so none keeps a connection, a cache or
# code from before the rollback. Parameters (environment):
#   COMPOSE_PROJECT   docker-compose project of the todo app; empty where the
#                     environment has no containers (the demo target)
#   API_SERVICE       compose service to restart                    [containers]
#   APP_DEPLOY_DIR    holds supervisor.pid: the demo target's         [no containers]
#                     supervisor restarts the application on SIGHUP
#   APP_URL           the application: GET /healthz must answer 200 afterwards
#   EXPECT_VERSION    optional: GET /version must report it too (rollback_application.sh)
#   RESTART_TIMEOUT_SECONDS  optional, default 60
# Safe to re-run.
set -euo pipefail

: "${COMPOSE_PROJECT?COMPOSE_PROJECT must be set (empty: no containers)}"
: "${APP_URL:?APP_URL is required}"
timeout="${RESTART_TIMEOUT_SECONDS:-60}"
[[ "$timeout" =~ ^[0-9]+$ ]] || { echo "RESTART_TIMEOUT_SECONDS is not a number" >&2; exit 2; }

# The running process's "<version> <pid>" from GET /version ("" when it does not answer).
# The demo application's JSON is flat, so sed picks the two fields.
running() {
  local body version pid
  body="$(curl --silent --fail --max-time 2 "${APP_URL}/version" 2>/dev/null)" || return 0
  version="$(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' <<<"$body")"
  pid="$(sed -n 's/.*"pid": *\([0-9][0-9]*\).*/\1/p' <<<"$body")"
  echo "${version:--} ${pid:--}"
}

before="$(running)"
old_pid="${before#* }"

if [[ -n "$COMPOSE_PROJECT" ]]; then
  : "${API_SERVICE:?API_SERVICE is required}"
  echo "Restarting ${API_SERVICE} of ${COMPOSE_PROJECT}..."
  docker-compose --project-name "$COMPOSE_PROJECT" restart "$API_SERVICE"
else
  : "${APP_DEPLOY_DIR:?APP_DEPLOY_DIR is required without containers}"
  pid_file="${APP_DEPLOY_DIR}/supervisor.pid"
  supervisor="$(cat "$pid_file" 2>/dev/null || true)"
  # A stale pid file must not make us signal a stranger: the pid must be a demo_target process
  # (python -m demo_target.supervisor, or manage.py demo_target serve).
  if [[ ! "$supervisor" =~ ^[0-9]+$ ]] ||
    ! grep -qaF "demo_target" "/proc/${supervisor}/cmdline" 2>/dev/null; then
    echo "No running supervisor (${pid_file}): start the demo application with" >&2
    echo "  manage.py demo_target serve   (or bin/demo)" >&2
    exit 3
  fi
  echo "Restarting the application (was: ${before:-not answering}; supervisor pid ${supervisor})..."
  kill -HUP "$supervisor"
fi

# Back means: healthy, and (without containers) a new process, reporting EXPECT_VERSION if
# given; a containerised application that serves no /version is judged by /healthz alone.
back() {
  curl --silent --fail --max-time 2 --output /dev/null "${APP_URL}/healthz" || return 1
  if [[ -z "$COMPOSE_PROJECT" ]]; then
    [[ -n "$now" && "$pid" != "$old_pid" ]] || return 1
  fi
  [[ -z "${EXPECT_VERSION:-}" || "$version" == "$EXPECT_VERSION" ]] ||
    [[ -n "$COMPOSE_PROJECT" && -z "$now" ]]
}

now="" version="" pid=""
deadline=$((SECONDS + timeout))
while ((SECONDS < deadline)); do
  now="$(running)"
  version="${now% *}" pid="${now#* }"
  if back; then
    echo "The application is back: version ${version:-unknown}, pid ${pid:-unknown}, healthy."
    exit 0
  fi
  sleep 0.2
done
echo "The application did not come back healthy within ${timeout} s (now: ${now:-not answering})." >&2
echo "GET /healthz: $(curl --silent --max-time 2 "${APP_URL}/healthz" 2>&1 || echo 'no answer')" >&2
if [[ -n "${EXPECT_VERSION:-}" ]]; then
  echo "Expected version ${EXPECT_VERSION}." >&2
fi
exit 1
