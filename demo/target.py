"""The demo target's fingerprint: validation's generic one over demo_target's tables and columns.

Composed here, in the top layer, because neither side may know the other: the
``demo_target`` package imports none of Ripcord's apps, and validation checks
take their tables and columns from the runbook, never from the demo fixture.
"""

from __future__ import annotations

from demo_target import CHECKSUM_COLUMNS, ID_TABLES, pg
from validation.fingerprint import Fingerprint, fingerprint_of


def fingerprint_target(dsn: str) -> Fingerprint:
    """Row counts of every table, a checksum of every column loaded, the id types.

    What ``manage.py demo_target create`` writes beside the backup, and what a
    restore must give back. Connects through ``demo_target.pg``, so an unreachable
    server is a ``TargetUnavailable`` like everywhere else in the demo target.
    """
    with pg.connect(dsn) as conn:
        return fingerprint_of(conn, checksums=CHECKSUM_COLUMNS, id_tables=ID_TABLES)
