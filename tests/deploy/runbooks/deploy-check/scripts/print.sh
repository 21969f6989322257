#!/usr/bin/env bash
# Prints a known text, on stdout and stderr, that tests/deploy/test_compose_stack.py expects
# back byte for byte from the API (its EXPECTED_PRINT).
set -euo pipefail
printf 'Ripcord deployment check\n'
printf 'user %s, working under %s\n' "$(id -un)" "${PWD%/*}"
printf 'unicode: Grüße, 日本語, ✓ and 🚀\n'
printf 'tab:\there\n'
printf 'on stderr: erreur détectée\n' >&2
for i in $(seq 1 300); do
    printf 'line %03d %s\n' "$i" "$(printf '%*s' $((i % 70)) '' | tr ' ' '=')"
done
printf 'the end, without a newline'
