"""0006_log_chunk_bytes: stored log text becomes its exact UTF-8 bytes, on both databases.

The trap it avoids: PostgreSQL's ``text::bytea`` cast reads the text as a bytea literal,
so a log holding a backslash (a Windows path, a printed escape) would change or fail.
"""

from __future__ import annotations

import importlib
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from incidents.models import StepRun, StepRunLogChunk

ROOT = Path(__file__).resolve().parents[2]
BEFORE = ("incidents", "0005_safeguard_checks")
AFTER = ("incidents", "0006_log_chunk_bytes")
TEXT = "café C:\\tmp \\x41 \\\\ 100%\n"  # backslashes a bytea literal would eat


def migrate(*targets: tuple[str, str]) -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(list(targets) or executor.loader.graph.leaf_nodes())


@pytest.fixture
def at_latest_afterwards() -> Iterator[None]:
    try:
        yield
    finally:
        migrate()  # every app's newest migration: later tests need today's schema


@pytest.mark.django_db(transaction=True)
def test_log_chunk_migration_keeps_text_exact_on_postgresql(
    incident, sysadmin, at_latest_afterwards
):
    run = StepRun.objects.create(
        step=incident.steps.get(key="restore"),
        incident=incident,
        attempt=1,
        status=StepRun.Status.SUCCEEDED,
        requested_by=sysadmin,
        requested_at=timezone.now(),
    )
    StepRunLogChunk.objects.create(run=run, seq=0, first_line=0, data=TEXT.encode())
    StepRunLogChunk.objects.create(run=run, seq=1, first_line=1, data=b"bad \xff nul \x00 end")

    migrate(BEFORE)  # back: text again, as close as text can hold
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, text FROM incidents_steprunlogchunk ORDER BY seq")
        assert cursor.fetchall() == [(0, TEXT), (1, "bad \ufffd nul  end")]

    migrate(AFTER)
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, data FROM incidents_steprunlogchunk ORDER BY seq")
        rows = [(seq, bytes(data)) for seq, data in cursor.fetchall()]
    assert rows == [(0, TEXT.encode()), (1, "bad \ufffd nul  end".encode())]


def manage(var_dir: Path, *args: str) -> None:
    """manage.py in embedded mode (SQLite under var_dir), with nothing of this process's env."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "RIPCORD_VAR_DIR": str(var_dir)}
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.timeout(240)
def test_log_chunk_migration_applies_on_sqlite(tmp_path):
    manage(tmp_path, "migrate")  # the embedded mode's database, from scratch
    db = sqlite3.connect(tmp_path / "ripcord.sqlite3")
    columns = [row[1] for row in db.execute("PRAGMA table_info(incidents_steprunlogchunk)")]
    db.close()
    assert "data" in columns and "text" not in columns


def test_log_chunk_migration_sqlite_statement_keeps_text_exact():
    # The statement alone: on a filled table, SQLite's migration rebuild also checks every
    # foreign key, which would need a whole incident built by hand.
    migration = importlib.import_module("incidents.migrations.0006_log_chunk_bytes")
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE incidents_steprunlogchunk (text TEXT NOT NULL, data BLOB)")
    db.execute("INSERT INTO incidents_steprunlogchunk (text) VALUES (?)", (TEXT,))
    db.execute(migration.FORWARD["sqlite"])
    assert db.execute("SELECT data FROM incidents_steprunlogchunk").fetchall() == [(TEXT.encode(),)]
    db.close()
