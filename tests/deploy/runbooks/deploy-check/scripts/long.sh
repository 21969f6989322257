#!/usr/bin/env bash
# Runs far longer than tests/deploy waits: the test kills the worker container under it.
set -euo pipefail
printf 'long step started\n'
sleep 600
printf 'long step finished\n'
