"""The demo target: the todo application's PostgreSQL database that MIG-002 broke.

A plain library, Python and psycopg only: it imports none of Ripcord's apps (and
only the ``demo`` app and the tests import it), so what Ripcord checks never
depends on this fixture. The life of a drill:

1. ``create_target``: the pre-migration database (integer ids, deterministic rows);
2. ``take_backup``: the ``pg_dump -Fc`` archive the rollback restores;
3. ``apply_bad_migration``: UUID ids, the feature flags switched on, and the
   damage that triggers the rollback;
4. the runbook restores (``restore_backup``) and resets sequences (``reset_sequences``);
5. a fingerprint over ``CHECKSUM_COLUMNS`` and ``ID_TABLES`` (validation's
   generic one, composed by the ``demo_target`` command), ``sequence_state`` and
   the checks against the demo application (``app.py``: login, tasks, flags)
   prove the result.
"""

from __future__ import annotations

from demo_target.data import demo_credentials
from demo_target.generate import (
    apply_bad_migration,
    create_target,
    drop_target,
    take_backup,
    verify_backup,
)
from demo_target.pg import TargetError, TargetUnavailable
from demo_target.schema import CHECKSUM_COLUMNS, ID_TABLES
from demo_target.scripts import reset_sequences, restore_backup
from demo_target.sequences import SequenceState, sequence_state

__all__ = [
    "CHECKSUM_COLUMNS",
    "ID_TABLES",
    "SequenceState",
    "TargetError",
    "TargetUnavailable",
    "apply_bad_migration",
    "create_target",
    "demo_credentials",
    "drop_target",
    "reset_sequences",
    "restore_backup",
    "sequence_state",
    "take_backup",
    "verify_backup",
]
