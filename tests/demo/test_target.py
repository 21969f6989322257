"""The demo app composes validation's fingerprint with the demo target's lists; MIG-002 agrees."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

from demo_target import CHECKSUM_COLUMNS, ID_TABLES
from runbooks.importers.files import read_runbook_file

MIG_002 = Path(settings.BASE_DIR) / "runbooks" / "library" / "mig-002" / "runbook.yaml"


def test_mig002_snapshot_records_what_the_backups_fingerprint_does():
    # Then "baseline: incident_snapshot" and "baseline: backup" compare the same things.
    snapshot = read_runbook_file(MIG_002).spec.snapshot
    assert snapshot.checksums == {table: list(cols) for table, cols in CHECKSUM_COLUMNS.items()}
    assert snapshot.id_types == list(ID_TABLES)
