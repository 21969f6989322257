"""The demo target: the todo application's PostgreSQL database that MIG-002 broke.

Pure Python and psycopg (no Django models), so runbook steps, validation checks
and tests can all drive it. The life of a drill:

1. ``create_target``: the pre-migration database (integer ids, deterministic rows);
2. ``take_backup``: the ``pg_dump -Fc`` archive the rollback restores;
3. ``apply_bad_migration``: UUID ids, the feature flags switched on, and the
   damage that triggers the rollback;
4. the runbook restores (``restore_backup``) and resets sequences (``reset_sequences``);
5. ``fingerprint`` / ``sequence_state`` and the checks against the demo
   application (``app.py``: login, tasks, flags) prove the result.
"""

from __future__ import annotations

from demo_target.data import demo_credentials
from demo_target.fingerprint import (
    Fingerprint,
    SequenceState,
    diff_fingerprints,
    fingerprint,
    sequence_state,
)
from demo_target.generate import (
    apply_bad_migration,
    create_target,
    drop_target,
    take_backup,
    verify_backup,
)
from demo_target.pg import TargetError, TargetUnavailable
from demo_target.scripts import reset_sequences, restore_backup

__all__ = [
    "Fingerprint",
    "SequenceState",
    "TargetError",
    "TargetUnavailable",
    "apply_bad_migration",
    "create_target",
    "demo_credentials",
    "diff_fingerprints",
    "drop_target",
    "fingerprint",
    "reset_sequences",
    "restore_backup",
    "sequence_state",
    "take_backup",
    "verify_backup",
]
