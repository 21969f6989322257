"""Every scripted MIG-002 step for real on a worker, the application rollback included.

On the demo target, with the todo application run by its supervisor from a deploy
folder (tests/demo_target/supervised.py): the data rollback restores the database,
"Deploy previous version" runs scripts/rollback_application.sh on a Celery worker
and the application reports v1.4.2 afterwards (a new process), "Lift read-only mode"
lets writes back in, and "Restart services" restarts the application, which answers
healthy (and lets a person log in) afterwards; the validation steps then pass against it.

The module has its own ASGI server and worker on a broker prefix of its own: the
worker carries the demo environment's overrides for this module's target and app,
and no other test's worker may take its runs (nor this one theirs).
"""

from __future__ import annotations

import json
import os
import urllib.request
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from django.core.management import call_command

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from common.tokens import create_token
from demo.target import fingerprint_target
from demo_target import apply_bad_migration, create_target, drop_target, take_backup
from demo_target.releases import BAD_TAG, GOOD_TAG
from incidents.models import StepRun
from tests.demo_target.supervised import SupervisedApp, get_json, supervised_app
from tests.factories import make_user
from tests.integration.conftest import ARTIFACTS
from tests.integration.http import ApiClient
from tests.integration.processes import (
    BROKER_URL,
    ROOT,
    RUN_ID,
    sending_to,
    start_server,
    start_worker,
)
from tests.integration.runs import (
    assign,
    log_of,
    open_incident,
    open_lab_incident,
    step_id,
    wait_run,
    write_runbook,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ADMIN_DSN = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_DB = f"todo_app_it_{RUN_ID}"
TARGET_DSN = f"postgres://postgres@127.0.0.1:5432/{TARGET_DB}"
WORK = ARTIFACTS / f"app-steps-{RUN_ID}"
BACKUP = WORK / "pre_migration.backup"
PREFIX = f"ripcord-test-{RUN_ID}-app:"
SCRIPTS = ROOT / "runbooks" / "library" / "mig-002" / "scripts"


@pytest.fixture(scope="module")
def demo_app() -> Iterator[SupervisedApp]:
    """v1.5.0 (the release with the bad migration) deployed and running under its supervisor.

    The app connects per request, so it serves the target the test creates."""
    WORK.mkdir(parents=True, exist_ok=True)
    with supervised_app(WORK, TARGET_DSN) as running:
        yield running


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, demo_app) -> Iterator[str]:
    """uvicorn and a worker (default and database queues) on this module's broker prefix."""
    overrides = {
        "RIPCORD_BROKER_PREFIX": PREFIX,
        "RIPCORD_ENV_DEMO_PGDATABASE": TARGET_DB,
        "RIPCORD_ENV_DEMO_TARGET_DATABASE_URL": TARGET_DSN,
        "RIPCORD_ENV_DEMO_TARGET_ADMIN_URL": TARGET_DSN
        + "?options=-c%20default_transaction_read_only%3Doff",
        "RIPCORD_ENV_DEMO_BACKUP_FILE": str(BACKUP),
        "RIPCORD_ENV_DEMO_APP_URL": demo_app.url,
        "RIPCORD_ENV_DEMO_APP_REPO_DIR": str(demo_app.repo_dir),
        "RIPCORD_ENV_DEMO_APP_DEPLOY_DIR": str(demo_app.deploy_dir),
    }
    with django_db_blocker.unblock():
        server = start_server(ARTIFACTS, RIPCORD_BROKER_PREFIX=PREFIX)
        worker = start_worker(ARTIFACTS, queues="default,database", **overrides)
    try:
        with sending_to(BROKER_URL, PREFIX):
            yield server.url
    finally:
        worker.stop()
        server.stop()


@pytest.fixture
def target() -> Iterator[None]:
    """The todo database before the bad migration, its backup, then the migration applied."""
    create_target(ADMIN_DSN, TARGET_DB, users=300, tasks=1800, seed=5)  # demo accounts 100-300
    take_backup(TARGET_DSN, BACKUP)
    BACKUP.with_suffix(".fingerprint.json").write_text(
        json.dumps(fingerprint_target(TARGET_DSN), sort_keys=True)
    )
    apply_bad_migration(TARGET_DSN)
    yield
    with psycopg.connect(
        ADMIN_DSN, autocommit=True
    ) as conn:  # a failed test may leave it read-only
        conn.execute(f'ALTER DATABASE "{TARGET_DB}" RESET default_transaction_read_only')
    drop_target(ADMIN_DSN, TARGET_DB)


@pytest.fixture
def api(stack, transactional_db):
    people = {
        "ic": make_user("ic", COMMANDERS),
        "sysadmin": make_user("sysadmin", RESPONDERS),
        "backend": make_user("backend", RESPONDERS),
        "frontend": make_user("frontend", RESPONDERS),
        "devops": make_user("devops", RESPONDERS),
        "pm": make_user("pm", VIEWERS),
    }

    def client(name: str) -> ApiClient:
        return ApiClient(stack, create_token(people[name], "it")[1])

    return client


def run_step(api, incident: dict[str, Any], key: str, who: str, *, approver: str = "") -> StepRun:
    url = f"/incidents/{incident['id']}/steps/{step_id(incident, key)}/run"
    started = api(who).post(url)
    assert started.status_code == 201, started.body
    if approver:
        assert started.json()["status"] == "awaiting_approval"
        approved = api(approver).post(
            f"/incidents/{incident['id']}/runs/{started.json()['id']}/approve"
        )
        assert approved.status_code == 200, approved.body
    run = wait_run(started.json()["id"], "succeeded", "failed", "timed_out", timeout=90)
    assert run.status == "succeeded", log_of(run.pk)
    return run


def tick(api, incident: dict[str, Any], key: str, who: str) -> None:
    done = api(who).post(f"/incidents/{incident['id']}/steps/{step_id(incident, key)}/complete")
    assert done.status_code == 200, done.body


def read_only() -> str:
    with psycopg.connect(TARGET_DSN) as conn:
        row = conn.execute("SHOW default_transaction_read_only").fetchone()
    assert row is not None
    return str(row[0])


@pytest.mark.timeout(240)
def test_every_scripted_mig002_step_runs_on_a_worker_and_the_app_reports_the_previous_release(
    target, demo_app, api
):
    call_command("load_runbooks", verbosity=0)
    incident = open_incident(api, "mig-002", "demo")
    for role, who in [
        ("system_administrator", "sysadmin"),
        ("backend_engineer", "backend"),
        ("frontend_engineer", "frontend"),
        ("devops_engineer", "devops"),
    ]:
        assign(api, incident, role, who)
    broken = demo_app.version()
    assert broken and broken["version"] == BAD_TAG

    # Data rollback, as far as the application steps require.
    tick(api, incident, "disable_new_endpoints", "backend")
    tick(api, incident, "activate_maintenance_mode", "frontend")
    run_step(api, incident, "stop_writes", "sysadmin")
    assert read_only() == "on"
    run_step(api, incident, "restore_database", "sysadmin", approver="ic")
    run_step(api, incident, "verify_data_integrity", "backend")
    tick(api, incident, "update_schema", "sysadmin")

    # Deploy previous version: the worker runs rollback_application.sh against the target.
    deployed = run_step(api, incident, "deploy_previous_version", "devops")
    log = log_of(deployed.pk)
    assert f"current -> releases/{GOOD_TAG}" in log and "Application rollback completed." in log
    previous = demo_app.version()
    assert previous and previous["version"] == GOOD_TAG, log
    assert previous["pid"] != broken["pid"]
    # The previous release serves the restored database, still read-only: reads work.
    assert get_json(f"{demo_app.url}/api/flags") == (200, {"api_v1": False, "uuid_ids": False})

    tick(api, incident, "update_configuration", "devops")
    run_step(api, incident, "lift_read_only", "devops")
    assert read_only() == "off"

    # Restart services: a new application process, healthy, on the previous release.
    restarted = run_step(api, incident, "restart_services", "devops")
    now = demo_app.version()
    assert now and now["version"] == GOOD_TAG and now["pid"] != previous["pid"]
    assert f"version {GOOD_TAG}, pid {now['pid']}, healthy" in log_of(restarted.pk)
    assert get_json(f"{demo_app.url}/healthz") == (
        200,
        {"status": "ok", "database": "up", "read_only": False},
    )
    assert log_in(demo_app.url)["user_id"] == 100  # a write: the database takes writes again

    # The rest of the plan: every remaining scripted step passes against the restarted app.
    tick(api, incident, "verify_functionality", "backend")
    for key in ("revert_stable_build", "update_api_endpoints", "clear_user_caches"):
        tick(api, incident, key, "frontend")
    tick(api, incident, "test_user_workflows", "frontend")
    for key in ("smoke_tests", "verify_auth", "api_data_consistency"):
        run_step(api, incident, key, "backend")
    scripted = StepRun.objects.filter(step__incident_id=incident["id"], status="succeeded")
    assert set(scripted.values_list("step__key", flat=True)) == {
        "stop_writes",
        "restore_database",
        "verify_data_integrity",
        "deploy_previous_version",
        "lift_read_only",
        "restart_services",
        "smoke_tests",
        "verify_auth",
        "api_data_consistency",
    }


def log_in(url: str) -> dict[str, Any]:
    body = json.dumps({"email": "demo100@todo.example", "password": "demo-password-100"})
    request = urllib.request.Request(
        f"{url}/login",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        answer: dict[str, Any] = json.loads(response.read())
    return answer


@pytest.mark.timeout(120)
def test_a_hostile_previous_tag_reaches_the_deploy_script_as_data_and_nothing_runs(
    tmp_path, demo_app, api
):
    """MIG-002's own script on the worker, PREVIOUS_TAG an injection attempt: refused, exit 2."""
    marker = tmp_path / "pwned"
    folder = tmp_path / "hostile-tag"
    write_runbook(
        folder,
        queue="default",
        script=(SCRIPTS / "rollback_application.sh").read_text(),
        variables={
            "APP_REPO_DIR": str(demo_app.repo_dir),
            "APP_DEPLOY_DIR": str(demo_app.deploy_dir),
            "APP_URL": demo_app.url,
            "COMPOSE_PROJECT": "",
            "PREVIOUS_TAG": f"v1.0.0; touch {marker}",
        },
    )
    before = demo_app.version()
    current = os.readlink(demo_app.deploy_dir / "current")
    incident, step = open_lab_incident(api, folder)

    started = api("sysadmin").post(f"/incidents/{incident['id']}/steps/{step}/run")
    assert started.status_code == 201, started.body
    run = wait_run(started.json()["id"], "succeeded", "failed", "timed_out", timeout=60)

    assert (run.status, run.exit_code) == ("failed", 2), log_of(run.pk)
    assert "PREVIOUS_TAG is not a release tag" in log_of(run.pk)
    assert not marker.exists()
    assert os.readlink(demo_app.deploy_dir / "current") == current
    assert demo_app.version() == before  # not restarted
