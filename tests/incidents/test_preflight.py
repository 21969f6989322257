"""Pre-flight safeguards of MIG-002 against a real pg_dump backup on disk and the demo app."""

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
from incidents.tasks import run_preflight_task
from runbooks.demo_target import app as demo_app
from runbooks.demo_target import (
    apply_bad_migration,
    create_target,
    drop_target,
    restore_backup,
    take_backup,
)
from runbooks.selectors import latest_version

ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pf_target(tmp_path_factory):
    """A small pre-migration target, its backup, and the demo app serving it."""
    name = f"todo_pf_{uuid.uuid4().hex[:8]}"
    dsn = create_target(ADMIN, name, users=20, tasks=60, seed=3)
    path = take_backup(dsn, tmp_path_factory.mktemp("backups") / "pre_migration.backup")
    app = demo_app.start(dsn, port=0)
    yield dsn, path, app.url
    app.stop()
    drop_target(ADMIN, name)


@pytest.fixture
def real_backup(pf_target):
    return pf_target[1]


@pytest.fixture
def app_url(pf_target):
    return pf_target[2]


@pytest.fixture
def demo_env(monkeypatch, pf_target):
    """MIG-002's demo environment pointed at this target, as a worker's overrides do."""
    _, path, url = pf_target
    monkeypatch.setenv("RIPCORD_ENV_DEMO_BACKUP_FILE", str(path))
    monkeypatch.setenv("RIPCORD_ENV_DEMO_PITR_MARKER_FILE", str(path.with_suffix(".pitr")))
    monkeypatch.setenv("RIPCORD_ENV_DEMO_APP_URL", url)
    return pf_target


@pytest.fixture
def mig_incident(ic):
    call_command("load_runbooks", verbosity=0)
    return services.open_incident(
        version=latest_version("mig-002"),  # type: ignore[arg-type]
        environment="demo",
        title="MIG-002",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )


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


def test_marker_and_flags_from_a_variable(real_backup):
    assert marker(
        {"file_variable": "M"}, {"M": str(real_backup.with_suffix(".pitr"))}
    ).summary.startswith("marker: lsn ")
    params = {"variable": "F", "flags": ["uuid_ids", "api_v1"], "expect": "off"}
    assert flag(params, {"F": "uuid_ids=off,api_v1=off"}).result == "pass"
    failed = flag(params, {"F": "uuid_ids=on"})
    assert (
        failed.result == "fail" and failed.summary == "flags not off: uuid_ids=on, api_v1=missing"
    )


FLAGS = {"url": "${APP_URL}/api/flags", "flags": ["uuid_ids", "api_v1"], "expect": "off"}


def test_flag_check_reads_the_flags_from_the_app(app_url):
    outcome = flag(FLAGS, {"APP_URL": app_url})
    assert (outcome.result, outcome.summary) == ("pass", "uuid_ids, api_v1 all off")
    assert outcome.evidence == {
        "url": "${APP_URL}/api/flags",  # the template, never the filled URL
        "status": 200,
        "expected": "off",
        "seen": {"uuid_ids": "off", "api_v1": "off"},
    }


def test_flag_check_follows_a_json_path_and_names_missing_flags(app_url):
    nested = flag(
        {**FLAGS, "url": "${APP_URL}/healthz", "json_path": "status"}, {"APP_URL": app_url}
    )
    assert (nested.result, nested.summary) == (
        "error",
        "GET ${APP_URL}/healthz answered no object of flags at status",
    )
    missing = flag({**FLAGS, "flags": ["uuid_ids", "dark_mode"]}, {"APP_URL": app_url})
    assert (missing.result, missing.summary) == ("fail", "flags not off: dark_mode=missing")


def test_flag_check_is_an_error_when_the_app_cannot_say(app_url):
    refused = flag(FLAGS, {"APP_URL": "http://127.0.0.1:1"})
    assert refused.result == "error"
    assert refused.summary.startswith(
        "cannot read the flags from ${APP_URL}/api/flags: http: GET failed: "
    )
    not_found = flag({**FLAGS, "url": "${APP_URL}/flags"}, {"APP_URL": app_url})
    assert (not_found.result, not_found.summary) == (
        "error",
        "GET ${APP_URL}/flags answered HTTP 404: flags unknown",
    )
    unset = flag(FLAGS, {})
    assert unset.result == "error" and "no variable named APP_URL" in unset.summary
    both = flag({**FLAGS, "variable": "F"}, {"APP_URL": app_url, "F": ""})
    assert both.result == "error" and "not both" in both.summary


def test_preflight_records_results_timeline_and_push(
    demo_env, mig_incident, sent, django_capture_on_commit_callbacks
):
    incident = mig_incident
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


def test_preflight_flags_fail_on_the_broken_target_and_pass_after_the_restore(
    demo_env, mig_incident, sent, django_capture_on_commit_callbacks
):
    dsn, backup_file, _ = demo_env
    apply_bad_migration(dsn)  # the rollout switched the flags on with the migration
    try:
        with django_capture_on_commit_callbacks(execute=True):
            broken = {r.safeguard_id: r for r in run_preflight(mig_incident.pk)}
    finally:
        restore_backup(dsn, backup_file)  # the module's other tests want it pre-migration
    flags = broken["flags_default_off"]
    assert (flags.result, flags.summary) == ("fail", "flags not off: uuid_ids=on, api_v1=on")
    assert flags.evidence["seen"] == {"uuid_ids": "on", "api_v1": "on"}

    # After the restore, pre-flight run again on demand (the task the button enqueues).
    with django_capture_on_commit_callbacks(execute=True):
        run_preflight_task(mig_incident.pk)
    latest = SafeguardCheck.objects.filter(
        incident=mig_incident, safeguard_id="flags_default_off"
    ).order_by("-pk")
    assert [row.result for row in latest] == ["pass", "fail"]
