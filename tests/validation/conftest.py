"""A real demo target for the validation tests: the todo database, its backup and fingerprint.

One database per test session (``todo_val_<uuid8>``), made as ``manage.py demo_target
create`` makes it: the pre-migration data, the ``pg_dump -Fc`` backup, and the
fingerprint written beside the backup; and the demo todo application over it, on a
thread on a free port (its URL is the environment's APP_URL). Every test that uses
``target`` gets it freshly restored from that backup (about 0.3 s), so tests may
damage it as they like.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from demo.target import fingerprint_target
from demo_target import app as demo_app
from demo_target import (
    create_target,
    drop_target,
    reset_sequences,
    restore_backup,
    take_backup,
)
from demo_target.environment import TargetSettings
from runbooks.importers.files import read_runbook_file
from runbooks.specs import RunbookSpec
from validation.fingerprint import Fingerprint

ADMIN_DSN = os.environ.get(
    "TARGET_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
USERS = 300  # demo accounts 100, 200, 300
TASKS = 1800
RUNBOOK = Path(__file__).resolve().parents[2] / "runbooks" / "library" / "mig-002" / "runbook.yaml"
# The variables MIG-002's demo environment declares (the checks read some as they are).
DEMO_VARIABLES = next(
    env.variables for env in read_runbook_file(RUNBOOK).spec.environments if env.id == "demo"
)


@dataclass(frozen=True)
class DemoTarget:
    dsn: str
    dbname: str
    backup: Path
    before: Fingerprint  # the fingerprint taken with the backup
    app_url: str  # the demo application serving this target

    @property
    def env(self) -> dict[str, str]:
        """The MIG-002 demo environment's variables that the checks read, pointed at this target."""
        return {
            "TARGET_DATABASE_URL": self.dsn,
            "BACKUP_FILE": str(self.backup),
            "APP_URL": self.app_url,
            "SMOKE_TEST_ACCOUNTS": DEMO_VARIABLES["SMOKE_TEST_ACCOUNTS"],
        }


def write_backup_fingerprint(settings: TargetSettings, before: Fingerprint) -> Path:
    """What ``manage.py demo_target create`` writes beside the backup (same path, same text)."""
    settings.snapshot_file.write_text(json.dumps(before, indent=2, sort_keys=True) + "\n")
    return settings.snapshot_file


@pytest.fixture(scope="session")
def demo_target(tmp_path_factory) -> Iterator[DemoTarget]:
    dbname = f"todo_val_{uuid.uuid4().hex[:8]}"
    backup = tmp_path_factory.mktemp("backups") / "pre_migration.backup"
    dsn = create_target(ADMIN_DSN, dbname, users=USERS, tasks=TASKS)
    app = demo_app.start(dsn, port=0)
    try:
        before = fingerprint_target(dsn)
        take_backup(dsn, backup)
        write_backup_fingerprint(TargetSettings(dsn, ADMIN_DSN, backup), before)
        yield DemoTarget(dsn=dsn, dbname=dbname, backup=backup, before=before, app_url=app.url)
    finally:
        app.stop()
        drop_target(ADMIN_DSN, dbname)


@pytest.fixture
def target(demo_target: DemoTarget) -> DemoTarget:
    """The demo target as a correct rollback leaves it: the backup restored, sequences reset."""
    restore_backup(demo_target.dsn, demo_target.backup)
    reset_sequences(demo_target.dsn)
    return demo_target


@pytest.fixture(scope="session")
def mig002() -> RunbookSpec:
    return read_runbook_file(RUNBOOK).spec
