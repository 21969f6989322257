"""Runbook texts shared by the runbook tests: one valid file and one edit per failure class."""

from __future__ import annotations

VALID_RUNBOOK = """\
id: demo-rollback
title: Demo rollback
roles:
  - id: dba
    title: Database administrator
environments:
  - id: staging
    title: Staging
    variables: {PGHOST: db.staging.internal}
    secrets:
      PGPASSWORD: {env: STAGING_PGPASSWORD}
phases:
  - id: first
    title: First
    starts_at_minutes: 0
    ends_at_minutes: 15
    steps:
      - id: stop_writes
        title: Stop writes
        owner: dba
      - id: restore
        title: Restore
        owner: dba
        kind: shell
        command: {script: scripts/restore.sh, env: [PGHOST, PGPASSWORD]}
        requires: [stop_writes]
        approval: incident_commander
  - id: second
    title: Second
    starts_at_minutes: 15
    ends_at_minutes: 60
    steps:
      - id: check
        title: Check
        owner: dba
        kind: validation
        validations: [users_exist]
        requires: [restore]
validations:
  - id: users_exist
    family: user_data
    title: Users exist
success_criteria:
  - id: users_ok
    title: Users OK
    validations: [users_exist]
    signoff: dba
communications:
  - id: status
    audience: external
    channel: status page
    owner: incident_commander
    description: Status page
    phases: [first]
"""
RESTORE_SCRIPT = '#!/usr/bin/env bash\nset -euo pipefail\npg_restore --dbname "$PGDATABASE"\n'

# name: (text to replace in VALID_RUNBOOK, replacement, the line's marker, expected field)
FAILURES = {
    "yaml_syntax": ("owner: dba\n        kind: shell", "owner: dba: x\n        kind: shell", "dba: x", "phases[0].steps[1].owner"),
    "duplicate_step_id": ("- id: check", "- id: stop_writes  # again", "# again", "phases[1].steps[0].id"),
    "unknown_role": ("title: Check\n        owner: dba", "title: Check\n        owner: nobody", "owner: nobody", "phases[1].steps[0].owner"),
    "requires_cycle": ("title: Stop writes\n", "title: Stop writes\n        requires: [restore]\n", "requires: [stop_writes]", "phases[0].steps[1].requires[0]"),
    "budget_ends_before_start": ("ends_at_minutes: 60", "ends_at_minutes: 10", "ends_at_minutes: 10", "phases[1].ends_at_minutes"),
}  # fmt: skip
