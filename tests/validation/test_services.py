"""Validation on an incident: the step's run through the real runner, results, snapshot, blockers."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest
from django.utils import timezone

from incidents import services as incident_services
from incidents.checks import selectors, services
from incidents.checks.selectors import blocking_checks
from incidents.execution import runner
from incidents.models import CheckResult, Phase, Snapshot, Step, StepRun
from runbooks.executors.base import ExecutorError, Outcome
from tests.factories import make_version

pytestmark = pytest.mark.django_db

VERIFY = ["user_accounts_exist", "user_profiles_correct", "tasks_accessible_to_owners",
          "task_metadata_intact", "task_relationships_intact"]  # fmt: skip


@pytest.fixture
def demo_env(monkeypatch, target):
    """Point MIG-002's demo environment at the test target, as a worker's overrides do."""
    monkeypatch.setenv("RIPCORD_ENV_DEMO_TARGET_DATABASE_URL", target.dsn)
    monkeypatch.setenv("RIPCORD_ENV_DEMO_BACKUP_FILE", str(target.backup))
    monkeypatch.setenv("RIPCORD_ENV_DEMO_APP_URL", target.app_url)
    monkeypatch.delenv("RIPCORD_DEMO_SMOKE_ACCOUNTS", raising=False)
    return target


@pytest.fixture
def mig_incident(mig002, ic, django_capture_on_commit_callbacks):
    version = make_version(mig002.model_dump(mode="json"))
    with django_capture_on_commit_callbacks(execute=False):
        return incident_services.open_incident(
            version=version,
            environment="demo",
            title="MIG-002 drill",
            severity="sev2",
            is_drill=True,
            opened_by=ic,
        )


def queued(incident, key, by):
    step = Step.objects.get(incident=incident, key=key)
    return StepRun.objects.create(
        step=step,
        incident=incident,
        attempt=1,
        status=StepRun.Status.QUEUED,
        requested_by=by,
        requested_at=timezone.now(),
    )


def test_execute_run_of_a_validation_step_stores_check_results(mig_incident, demo_env, ic):
    run = queued(mig_incident, "verify_data_integrity", ic)

    runner.execute_run(run.pk)

    run.refresh_from_db()
    assert (run.status, run.summary) == (StepRun.Status.SUCCEEDED, "all 5 checks passed")
    assert Step.objects.get(pk=run.step_id).state == Step.State.DONE
    rows = list(CheckResult.objects.filter(run=run).order_by("pk"))
    assert [r.validation_id for r in rows] == VERIFY
    assert {r.result for r in rows} == {"pass"} and {r.incident_id for r in rows} == {
        mig_incident.pk
    }
    assert rows[0].summary == "300 users (integer ids), as in the pre-migration backup"
    assert rows[0].evidence["expected"] == {
        "tables": {"users": 300},
        "id_types": {"users": "integer"},
    }
    assert selectors.latest_results(mig_incident.pk) == dict.fromkeys(VERIFY, "pass")


def test_execute_run_failing_checks_fail_the_run_and_are_recorded(mig_incident, demo_env, ic):
    with psycopg.connect(demo_env.dsn) as conn:
        # A restore that lost a constraint, and a row it no longer guards.
        conn.execute("ALTER TABLE tasks DROP CONSTRAINT tasks_owner_id_fkey")
        conn.execute("UPDATE tasks SET owner_id = 99999 WHERE id = 12")
        conn.execute("DELETE FROM users WHERE id = 250")
    run = queued(mig_incident, "verify_data_integrity", ic)

    runner.execute_run(run.pk)

    run.refresh_from_db()
    assert run.status == StepRun.Status.FAILED
    assert Step.objects.get(pk=run.step_id).state == Step.State.PENDING
    latest = selectors.latest_check_results(mig_incident)
    assert latest["user_accounts_exist"].summary == (
        "users: 300 expected (pre-migration backup), 299 seen — 1 missing"
    )
    assert latest["user_accounts_exist"].result == "fail"
    orphans = latest["tasks_accessible_to_owners"]
    assert orphans.summary.startswith("tasks whose owner does not exist: ")
    assert [12, 99999] in orphans.evidence["seen"]["first_rows"]


def test_record_results_ignores_other_step_kinds(mig_incident, ic):
    run = queued(mig_incident, "stop_writes", ic)  # an sql step: its evidence has "checks" too
    outcome = Outcome(True, evidence={"checks": [{"id": "x", "result": "pass"}]})
    assert services.record_results(run.pk, outcome) == []
    assert not CheckResult.objects.exists()


def test_latest_results_are_the_newest_row_per_validation(mig_incident, ic):
    run = queued(mig_incident, "verify_data_integrity", ic)
    for result in ("fail", "pass"):
        item: dict[str, Any] = {"id": "user_accounts_exist", "title": "T", "family": "user_data", "result": result,
                "summary": result, "evidence": {}, "checked_at": timezone.now().isoformat()}  # fmt: skip
        services.record_results(run.pk, Outcome(False, evidence={"checks": [item]}))
    assert selectors.latest_results(mig_incident) == {"user_accounts_exist": "pass"}
    assert CheckResult.objects.count() == 2


def test_blocking_checks_are_the_phase_validations_not_passed(mig_incident, ic):
    phase = Phase.objects.get(incident=mig_incident, key="validation_monitoring")
    run = queued(mig_incident, "smoke_tests", ic)
    item = {"id": "login_works", "title": "Login", "family": "auth_data", "result": "pass",
            "summary": "ok", "evidence": {}, "checked_at": timezone.now().isoformat()}  # fmt: skip
    failing = {**item, "id": "sessions_work", "result": "fail", "summary": "1 session problem"}
    services.record_results(run.pk, Outcome(False, evidence={"checks": [item, failing]}))

    blocking = {check.validation_id: check for check in blocking_checks(phase)}

    # smoke_tests, verify_auth and api_data_consistency run 10 validations; login_works passed.
    assert len(blocking) == 9 and "login_works" not in blocking
    assert blocking["sessions_work"].result == "fail"
    assert blocking["sessions_work"].step_keys == ["verify_auth"]
    assert blocking["user_accounts_exist"].result == "not_run"
    assert "Verify session management works correctly (failed)" in selectors.failed_checks_blocking(
        phase
    )
    manual = Phase.objects.get(incident=mig_incident, key="service_preservation")
    assert selectors.failed_checks_blocking(manual) == []


def test_command_for_step_reads_the_runbook_and_the_snapshot(mig_incident, ic):
    run = queued(mig_incident, "verify_auth", ic)
    Snapshot.objects.create(incident=mig_incident, taken_at=timezone.now(), data={"tables": {}})
    command = services.command_for_step(StepRun.objects.get(pk=run.pk))
    assert [c["id"] for c in command["checks"]] == [
        "login_works", "sessions_work", "password_hashes_valid", "user_permissions_preserved"
    ]  # fmt: skip
    assert command["snapshot"] == {"tables": {}}
    Step.objects.filter(pk=run.step_id).update(key="renamed")
    with pytest.raises(ExecutorError, match="no step 'renamed'"):
        services.command_for_step(StepRun.objects.get(pk=run.pk))


def test_take_snapshot_fingerprints_the_target_once(mig_incident, demo_env):
    snapshot = services.take_snapshot(mig_incident.pk)
    assert snapshot.is_usable and snapshot.data == demo_env.before
    with psycopg.connect(demo_env.dsn) as conn:
        conn.execute("DELETE FROM tasks WHERE id = 1")
    again = services.take_snapshot(mig_incident.pk)
    assert again.pk == snapshot.pk and again.data["tables"]["tasks"] == 1800  # the baseline stays


def test_take_snapshot_records_why_it_failed_then_retries(mig_incident, demo_env):
    broken = services.take_snapshot(
        mig_incident.pk, {"RIPCORD_ENV_DEMO_TARGET_DATABASE_URL": "postgres://u@127.0.0.1:1/x"}
    )
    assert not broken.is_usable and "cannot connect" in broken.error
    fixed = services.take_snapshot(mig_incident.pk)
    assert fixed.pk == broken.pk and fixed.is_usable and fixed.error == ""


def test_take_snapshot_task_calls_the_service(mig_incident, monkeypatch):
    from incidents import tasks
    from incidents.tasks import take_snapshot_task

    called: list[int] = []
    monkeypatch.setattr(tasks, "take_snapshot", called.append)
    take_snapshot_task(mig_incident.pk)
    assert called == [mig_incident.pk]
