#!/usr/bin/env bash
# rollback_application.sh - deploy the previous stable version of the todo application.
#
# Adapted from the MIG-002 plan's "Application Rollback Script". The plan
# guessed the previous version with `git describe`; here PREVIOUS_TAG names it
# (the runbook's environment, or the incident), and it must look like a release
# tag (vMAJOR.MINOR.PATCH) before anything runs. Parameters (environment):
#   APP_REPO_DIR      git repository of the todo app (its release tags)
#   PREVIOUS_TAG      last stable release tag
#   COMPOSE_PROJECT   docker-compose project of the todo app; empty where the
#                     environment has no containers (the demo target)
#   APP_IMAGE         image name (tagged PREVIOUS_TAG, then latest)  [containers]
#   API_SERVICE       compose service to recreate                   [containers]
#   APP_DEPLOY_DIR    releases/<tag>, the `current` symlink and the  [no containers]
#                     supervisor's pid file (demo_target/supervisor.py)
#   APP_URL           the application; GET /version must report PREVIOUS_TAG afterwards
# Without containers: the tag's tree is exported (git archive) into
# releases/<tag>, `current` is switched atomically (a new symlink renamed over
# the old one), the application is restarted (restart_services.sh, shipped
# beside this script) and the step waits until it reports the tag.
# Safe to re-run: it deploys one tag and restarts one service.
set -euo pipefail

: "${APP_REPO_DIR:?APP_REPO_DIR is required}"
: "${PREVIOUS_TAG:?PREVIOUS_TAG is required}"
: "${COMPOSE_PROJECT?COMPOSE_PROJECT must be set (empty: no containers)}"

# Data, never code: a tag that is not vMAJOR.MINOR.PATCH stops the script here.
if [[ ! "$PREVIOUS_TAG" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]]; then
  printf 'PREVIOUS_TAG is not a release tag (vMAJOR.MINOR.PATCH): %q\n' "$PREVIOUS_TAG" >&2
  exit 2
fi

echo "Starting application rollback to ${PREVIOUS_TAG}..."

# Pull previous stable version (where the repository has a remote to pull from).
if git -C "$APP_REPO_DIR" remote get-url origin >/dev/null 2>&1; then
  git -C "$APP_REPO_DIR" fetch --tags origin
fi
commit="$(git -C "$APP_REPO_DIR" rev-parse --verify --quiet "refs/tags/${PREVIOUS_TAG}^{commit}")" || {
  echo "No release tag ${PREVIOUS_TAG} in ${APP_REPO_DIR}; tags there:" >&2
  git -C "$APP_REPO_DIR" tag --list 'v*' --sort=version:refname >&2
  exit 2
}
echo "Tag ${PREVIOUS_TAG} is commit ${commit}."

if [[ -n "$COMPOSE_PROJECT" ]]; then
  : "${APP_IMAGE:?APP_IMAGE is required}"
  : "${API_SERVICE:?API_SERVICE is required}"
  git -C "$APP_REPO_DIR" checkout --detach "$commit"
  docker build --tag "${APP_IMAGE}:${PREVIOUS_TAG}" "$APP_REPO_DIR"
  docker tag "${APP_IMAGE}:${PREVIOUS_TAG}" "${APP_IMAGE}:latest"
  docker-compose --project-name "$COMPOSE_PROJECT" up --detach --no-deps "$API_SERVICE"
  echo "Application rollback completed."
  exit 0
fi

: "${APP_DEPLOY_DIR:?APP_DEPLOY_DIR is required without containers}"
: "${APP_URL:?APP_URL is required}"
restart="$(dirname "$0")/restart_services.sh"
[[ -r "$restart" ]] || { echo "restart_services.sh is not shipped beside this script" >&2; exit 2; }

releases="${APP_DEPLOY_DIR}/releases"
release="${releases}/${PREVIOUS_TAG}"
mkdir -p "$releases"
if [[ -d "$release" ]]; then
  echo "Release ${PREVIOUS_TAG} is already exported at ${release}."
else
  staging="$(mktemp -d "${releases}/.${PREVIOUS_TAG}.XXXXXX")"
  trap 'rm -rf "$staging"' EXIT
  git -C "$APP_REPO_DIR" archive --format=tar "$commit" | tar -x -C "$staging"
  printf '%s\n' "$commit" > "${staging}/REVISION"
  mv -T "$staging" "$release"
  trap - EXIT
  echo "Exported ${PREVIOUS_TAG} into ${release}."
fi

# Switch `current` atomically: rename(2) of a new link over the old one.
link="${APP_DEPLOY_DIR}/.current.$$"
ln -sfn "releases/${PREVIOUS_TAG}" "$link"
mv -Tf "$link" "${APP_DEPLOY_DIR}/current"
echo "current -> releases/${PREVIOUS_TAG}"

EXPECT_VERSION="$PREVIOUS_TAG" bash "$restart"
echo "Application rollback completed."
