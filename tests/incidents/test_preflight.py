"""Pre-flight safeguards of MIG-002 against a real pg_dump backup on disk."""

from __future__ import annotations

import os
import shutil
import uuid

import pytest
from django.core.management import call_command

from incidents import services
from incidents.models import SafeguardCheck, TimelineEntry
from incidents.preflight.checks import backup, flag, marker
from incidents.preflight.service import run_preflight
from runbooks.demo_target import create_target, drop_target, take_backup
from runbooks.selectors import latest_version

ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def real_backup(tmp_path_factory):
    name = f"todo_pf_{uuid.uuid4().hex[:8]}"
    dsn = create_target(ADMIN, name, users=20, tasks=60, seed=3)
    path = take_backup(dsn, tmp_path_factory.mktemp("backups") / "pre_migration.backup")
    yield path
    drop_target(ADMIN, name)


def test_backup_check_reads_the_archive(real_backup):
    outcome = backup({"file_variable": "B", "verify": "pg_restore_list"}, {"B": str(real_backup)})
    assert outcome.result == "pass" and outcome.evidence["toc_entries"] > 10


def test_backup_check_fails_on_garbage_and_missing_and_old(tmp_path, real_backup):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a dump")
    assert (
        backup({"file_variable": "B", "verify": "pg_restore_list"}, {"B": str(junk)}).result
        == "fail"
    )
    assert backup({"file_variable": "B"}, {"B": str(tmp_path / "none")}).result == "fail"
    aged = tmp_path / "aged.backup"
    shutil.copy(real_backup, aged)
    os.utime(aged, (0, 0))  # made in 1970
    old = backup({"file_variable": "B", "max_age_hours": 24}, {"B": str(aged)})
    assert old.result == "fail" and "old" in old.summary
    assert backup({"file_variable": "B"}, {}).result == "error"


def test_marker_and_flags(real_backup):
    assert marker(
        {"file_variable": "M"}, {"M": str(real_backup.with_suffix(".pitr"))}
    ).summary.startswith("marker: lsn ")
    params = {"variable": "F", "flags": ["uuid_ids", "api_v1"], "expect": "off"}
    assert flag(params, {"F": "uuid_ids=off,api_v1=off"}).result == "pass"
    failed = flag(params, {"F": "uuid_ids=on"})
    assert (
        failed.result == "fail" and failed.summary == "flags not off: uuid_ids=on, api_v1=missing"
    )


def test_preflight_records_results_timeline_and_push(
    real_backup, ic, monkeypatch, sent, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("RIPCORD_ENV_DEMO_BACKUP_FILE", str(real_backup))
    monkeypatch.setenv("RIPCORD_ENV_DEMO_PITR_MARKER_FILE", str(real_backup.with_suffix(".pitr")))
    call_command("load_runbooks", verbosity=0)
    incident = services.open_incident(
        version=latest_version("mig-002"),  # type: ignore[arg-type]
        environment="demo",
        title="MIG-002",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    with django_capture_on_commit_callbacks(execute=True):
        rows = run_preflight(incident.pk)
    results = {r.safeguard_id: r.result for r in rows}
    assert results == {
        "full_backup_taken": "pass",
        "backup_verified": "pass",
        "pitr_snapshot": "pass",
        "flags_default_off": "pass",
    }
    assert SafeguardCheck.objects.filter(incident=incident).count() == 4
    entry = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.PREFLIGHT).get()
    assert entry.text == "Pre-flight checks: 4 passed, 0 failed, 0 could not run."
    view = next(m["html"] for g, m in sent if g.endswith(".view"))
    assert f'id="safeguards-{incident.pk}"' in view and "readable:" in view
