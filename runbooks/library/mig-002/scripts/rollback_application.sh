#!/usr/bin/env bash
# rollback_application.sh - build and run the previous stable version of the todo API.
#
# Adapted from the MIG-002 plan's "Application Rollback Script". The plan
# guessed the previous version with `git describe`; here the runbook's
# environment names it, so the rollback target is decided before the incident,
# not by whatever tags a checkout happens to have. Parameters (environment):
#   APP_REPO_DIR      git checkout of the todo app to build from
#   PREVIOUS_TAG      last stable release tag
#   APP_IMAGE         image name (tagged PREVIOUS_TAG, then latest)
#   COMPOSE_PROJECT   docker-compose project of the todo app
#   API_SERVICE       compose service to recreate
# Safe to re-run: it builds one tag and recreates one service.
set -euo pipefail

: "${APP_REPO_DIR:?APP_REPO_DIR is required}"
: "${PREVIOUS_TAG:?PREVIOUS_TAG is required}"
: "${APP_IMAGE:?APP_IMAGE is required}"
: "${COMPOSE_PROJECT:?COMPOSE_PROJECT is required}"
: "${API_SERVICE:?API_SERVICE is required}"

echo "Starting application rollback to ${PREVIOUS_TAG}..."

# Pull previous stable version.
git -C "$APP_REPO_DIR" fetch --tags origin
git -C "$APP_REPO_DIR" checkout --detach "refs/tags/${PREVIOUS_TAG}"

# Build and deploy previous version.
docker build --tag "${APP_IMAGE}:${PREVIOUS_TAG}" "$APP_REPO_DIR"
docker tag "${APP_IMAGE}:${PREVIOUS_TAG}" "${APP_IMAGE}:latest"
docker-compose --project-name "$COMPOSE_PROJECT" up --detach --no-deps "$API_SERVICE"

echo "Application rollback completed."
