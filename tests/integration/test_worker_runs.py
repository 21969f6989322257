"""Scripted steps on the real stack: uvicorn, a Celery worker process, beat, Redis, PostgreSQL.

These prove the parts fit: the MIG-002 data rollback really restores the demo
target (and the demo application over it, which the worker's pre-flight asks for
the feature flags, says so); a worker killed mid-step leaves the run interrupted,
its script stopped, and never re-runs it by itself; a starting worker stops what a
dead one left; the sweeper works while every step worker is busy; a double-submitted
run executes once; secrets and hostile variable values stay data and never leave
the worker unredacted.
"""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.management import call_command
from django.utils import timezone

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from common.tokens import create_token
from config.settings import sweep_interval
from demo.target import fingerprint_target
from demo_target import app as demo_app
from demo_target import (
    apply_bad_migration,
    create_target,
    drop_target,
    sequence_state,
    take_backup,
)
from incidents.execution.reaping import instance_id
from incidents.models import (
    CheckResult,
    Incident,
    SafeguardCheck,
    StepRun,
    TimelineEntry,
)
from incidents.tasks import run_preflight_task
from tests.factories import make_user
from tests.held_http import held_server
from tests.integration.conftest import ARTIFACTS
from tests.integration.http import ApiClient
from tests.integration.processes import (
    BROKER_PREFIX,
    BROKER_URL,
    RUN_ID,
    database_url_for_tests,
    sending_to,
    start_beat,
    start_worker,
    wait_for,
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
from tests.integration.sockets import SocketListener
from tests.marked_processes import Orphans

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ADMIN_DSN = "postgres://postgres@127.0.0.1:5432/postgres"
TARGET_DB = f"todo_it_{RUN_ID}"
TARGET_DSN = f"postgres://postgres@127.0.0.1:5432/{TARGET_DB}"
WORK = ARTIFACTS / f"runs-{RUN_ID}"
BACKUP = WORK / "pre_migration.backup"
SECRET = f"sup3r-s3cret-{RUN_ID}"
LEASE = 3

# How the worker points MIG-002's demo environment at this run's target.
DEMO_OVERRIDES = {
    "RIPCORD_ENV_DEMO_PGDATABASE": TARGET_DB,
    "RIPCORD_ENV_DEMO_TARGET_DATABASE_URL": TARGET_DSN,
    "RIPCORD_ENV_DEMO_TARGET_ADMIN_URL": TARGET_DSN
    + "?options=-c%20default_transaction_read_only%3Doff",
    "RIPCORD_ENV_DEMO_BACKUP_FILE": str(BACKUP),
    "RIPCORD_IT_SECRET": SECRET,
    "RIPCORD_RUN_LEASE_SECONDS": str(LEASE),
}


@pytest.fixture(scope="session")
def demo_app_url():
    """The demo todo application over this run's target: the demo environment's APP_URL.

    It connects per request, so it serves each test's freshly created target."""
    running = demo_app.start(TARGET_DSN, port=0)
    yield running.url
    running.stop()


@pytest.fixture(scope="session")
def worker(django_db_setup, django_db_blocker, demo_app_url):
    with django_db_blocker.unblock():
        process = start_worker(
            ARTIFACTS,
            queues="default,database",
            RIPCORD_ENV_DEMO_APP_URL=demo_app_url,
            **DEMO_OVERRIDES,
        )
    yield process
    process.stop()


@pytest.fixture(scope="session", autouse=True)
def broker():
    """This process sends tasks to the same Redis broker as the worker processes."""
    with sending_to(BROKER_URL, BROKER_PREFIX):
        yield


@pytest.fixture(scope="module")
def beat(django_db_setup, django_db_blocker):
    """Celery beat for this module only: left running, it would announce clock changes
    (and sweep runs) under the feet of later tests that drive the clocks themselves."""

    with django_db_blocker.unblock():
        process = start_beat(ARTIFACTS, RIPCORD_RUN_LEASE_SECONDS=str(LEASE))
    yield process
    process.stop()


@pytest.fixture
def demo_target():
    """The todo database before a bad migration, its backup, then the migration applied."""
    WORK.mkdir(parents=True, exist_ok=True)
    create_target(ADMIN_DSN, TARGET_DB, users=300, tasks=1800, seed=7)
    take_backup(TARGET_DSN, BACKUP)
    before = fingerprint_target(TARGET_DSN)
    # Beside the backup, as `manage.py demo_target create` writes it: the checks' baseline.
    BACKUP.with_suffix(".fingerprint.json").write_text(json.dumps(before, sort_keys=True))
    apply_bad_migration(TARGET_DSN)
    yield before
    with psycopg.connect(ADMIN_DSN, autocommit=True) as conn:  # the test may leave it read-only
        conn.execute(f'ALTER DATABASE "{TARGET_DB}" RESET default_transaction_read_only')
    drop_target(ADMIN_DSN, TARGET_DB)


@pytest.fixture
def people(transactional_db):
    users = {
        "ic": make_user("ic", COMMANDERS),
        "sysadmin": make_user("sysadmin", RESPONDERS),
        "backend": make_user("backend", RESPONDERS),
        "frontend": make_user("frontend", RESPONDERS),
        "pm": make_user("pm", VIEWERS),
    }
    return users


@pytest.fixture
def api(asgi_server, people):
    def client(name: str) -> ApiClient:
        return ApiClient(asgi_server.url, create_token(people[name], "it")[1])

    return client


def roll_back(api, incident: dict[str, Any]) -> StepRun:
    """People and the worker walk MIG-002's data rollback up to a restored database."""
    iid = incident["id"]
    for role, who in [
        ("system_administrator", "sysadmin"),
        ("backend_engineer", "backend"),
        ("frontend_engineer", "frontend"),
    ]:
        assign(api, incident, role, who)
    for who, key in [
        ("backend", "disable_new_endpoints"),
        ("frontend", "activate_maintenance_mode"),
    ]:
        done = api(who).post(f"/incidents/{iid}/steps/{step_id(incident, key)}/complete")
        assert done.status_code == 200, done.body

    # Stop all write operations: the database turns read-only for new sessions.
    stop = api("sysadmin").post(f"/incidents/{iid}/steps/{step_id(incident, 'stop_writes')}/run")
    assert stop.status_code == 201, stop.body
    stopped = wait_run(stop.json()["id"], "succeeded", "failed")
    assert stopped.status == "succeeded", log_of(stopped.pk)
    with psycopg.connect(TARGET_DSN) as conn:
        assert conn.execute("SHOW default_transaction_read_only").fetchone() == ("on",)

    # Restore from backup: gated by the IC, run on the "database" queue.
    restore = api("sysadmin").post(
        f"/incidents/{iid}/steps/{step_id(incident, 'restore_database')}/run"
    )
    assert restore.json()["status"] == "awaiting_approval"
    approved = api("ic").post(f"/incidents/{iid}/runs/{restore.json()['id']}/approve")
    assert approved.status_code == 200
    run = wait_run(restore.json()["id"], "succeeded", "failed", "timed_out", timeout=90)
    assert run.status == "succeeded", log_of(run.pk)
    return run


def verify(api, incident: dict[str, Any]) -> StepRun:
    """The backend engineer runs "Verify data integrity" (the validation checks) on the worker."""
    url = f"/incidents/{incident['id']}/steps/{step_id(incident, 'verify_data_integrity')}/run"
    started = api("backend").post(url)
    assert started.status_code == 201, started.body
    return wait_run(started.json()["id"], "succeeded", "failed", "timed_out", timeout=60)


def flag_checks(incident_id: int, count: int) -> list[SafeguardCheck]:
    """The flags_default_off results pre-flight recorded on the worker, newest first."""
    rows = SafeguardCheck.objects.filter(incident_id=incident_id, safeguard_id="flags_default_off")
    wait_for(lambda: rows.count() >= count, timeout=30, what=f"{count} pre-flight flag checks")
    return list(rows.order_by("-pk"))


@pytest.mark.timeout(150)
def test_mig002_rollback_restores_the_demo_target(demo_target, worker, api, people):
    call_command("load_runbooks", verbosity=0)
    incident = open_incident(api, "mig-002", "demo")
    # Opening ran pre-flight on the worker: the app reports the rollout's flags on.
    [broken] = flag_checks(incident["id"], 1)
    assert (broken.result, broken.summary) == ("fail", "flags not off: uuid_ids=on, api_v1=on")
    run = roll_back(api, incident)
    log = log_of(run.pk)
    assert run.queue == "database" and run.exit_code == 0
    assert "Database rollback completed." in log

    after = fingerprint_target(TARGET_DSN)
    assert after["tables"] == demo_target["tables"]  # row counts of every table
    assert after["checksums"]["users"] == demo_target["checksums"]["users"]
    assert after["checksums"]["tasks"] == demo_target["checksums"]["tasks"]
    assert after == demo_target
    for state in sequence_state(TARGET_DSN).values():
        assert state["is_past_max"], state
    assert Incident.objects.get(pk=incident["id"]).steps.get(key="restore_database").state == "done"

    # Pre-flight again, on demand: the restored flags are off (read while writes are stopped).
    run_preflight_task.apply_async(args=(incident["id"],))
    restored = flag_checks(incident["id"], 2)[0]
    assert (restored.result, restored.summary) == ("pass", "uuid_ids, api_v1 all off")

    # Every MIG-002 validation check passes on the restored target, through the worker too.
    checked = verify(api, incident)
    assert checked.status == "succeeded", log_of(checked.pk)
    results = dict(
        CheckResult.objects.filter(incident_id=incident["id"]).values_list(
            "validation_id", "result"
        )
    )
    assert set(results.values()) == {"pass"} and len(results) == 5, results


@pytest.mark.timeout(150)
def test_corrupted_restore_fails_the_right_checks_and_holds_the_phase(
    demo_target, worker, api, people
):
    call_command("load_runbooks", verbosity=0)
    incident = open_incident(api, "mig-002", "demo")
    iid = incident["id"]
    roll_back(api, incident)
    # Someone "fixes" things by hand after the restore: 5 tasks gone, 3 hashes broken.
    with psycopg.connect(TARGET_DSN, options="-c default_transaction_read_only=off") as conn:
        conn.execute(
            "DELETE FROM task_tags WHERE task_id IN (SELECT id FROM tasks ORDER BY id LIMIT 5)"
        )
        conn.execute(
            "DELETE FROM recurrences WHERE task_id IN (SELECT id FROM tasks ORDER BY id LIMIT 5)"
        )
        conn.execute("DELETE FROM tasks WHERE id IN (SELECT id FROM tasks ORDER BY id LIMIT 5)")
        conn.execute(
            "UPDATE users SET password_hash = left(password_hash, 20) WHERE id IN (5, 17, 42)"
        )

    # Phase 1's remaining steps are done by hand, so the data rollback phase is the running one.
    for key in ("scale_down_new_services", "monitor_alerts"):
        skip = f"/incidents/{iid}/steps/{step_id(incident, key)}/skip"
        assert (
            api("ic").post(skip, {"reason": "drill: no new services to scale"}).status_code == 200
        )

    checked = verify(api, incident)
    assert checked.status == "failed"

    results = {r.validation_id: r for r in CheckResult.objects.filter(incident_id=iid)}
    failed = sorted(v for v, r in results.items() if r.result != "pass")
    assert failed == ["task_metadata_intact", "task_relationships_intact"], failed
    assert "5 missing" in results["task_metadata_intact"].summary
    assert "1800 expected" in results["task_metadata_intact"].summary

    # The data rollback phase cannot exit while a check it requires fails...
    refused = api("ic").post(f"/incidents/{iid}/advance", {})
    assert refused.status_code == 400
    assert (
        "validation failed: Verify task statuses, priorities, and metadata"
        in refused.json()["detail"]
    )
    # ...unless the IC overrides it, with a reason that goes on the record.
    moved = api("ic").post(
        f"/incidents/{iid}/advance", {"reason": "5 tasks restored from the export"}
    )
    assert moved.status_code == 200 and moved.json() == {"started_phase": "system_restoration"}
    ended = TimelineEntry.objects.filter(
        incident_id=iid, kind=TimelineEntry.Kind.PHASE_ENDED
    ).first()  # newest first

    assert ended is not None and "Reason: 5 tasks restored from the export" in ended.text


def marked_pids(run_id: int) -> list[int]:
    """Live processes on this host carrying run ``run_id``'s marks, read from /proc directly."""
    wanted = {f"RIPCORD_STEP_RUN={run_id}".encode(), f"RIPCORD_INSTANCE={instance_id()}".encode()}
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            environ = set((entry / "environ").read_bytes().split(b"\0"))
        except OSError:
            continue
        if state not in ("Z", "X") and wanted <= environ:
            found.append(int(entry.name))
    return found


BLOCKING_SCRIPT = """\
    #!/usr/bin/env bash
    set -euo pipefail
    echo "$$" >> "$MARKER"
    echo started
    while [[ ! -f "$GATE" ]]; do sleep 0.1; done
    echo finished
    """


@pytest.mark.timeout(120)
def test_worker_killed_mid_step_interrupts_stops_the_script_and_never_reruns(
    tmp_path, api, people, beat
):
    queue = f"crash-{RUN_ID}"
    marker, gate = tmp_path / "marker", tmp_path / "gate"
    folder = tmp_path / "crash"
    write_runbook(
        folder,
        queue=queue,
        script=BLOCKING_SCRIPT,
        variables={"MARKER": str(marker), "GATE": str(gate)},
    )
    incident, act = open_lab_incident(api, folder)
    # The lease lapses at most LEASE after the kill (the last renewal came before it), and
    # the next sweep, at most one interval later, interrupts the run (beat runs with LEASE).
    bound = LEASE + sweep_interval(LEASE)
    try:
        doomed = start_worker(ARTIFACTS, queues=queue, RIPCORD_RUN_LEASE_SECONDS=str(LEASE))
        try:
            sysadmin = api("sysadmin")
            run_id = sysadmin.post(f"/incidents/{incident['id']}/steps/{act}/run").json()["id"]
            wait_run(run_id, "running")
            wait_for(
                lambda: marker.exists() and "started" in log_of(run_id),
                timeout=20,
                what="the script",
            )
            assert marked_pids(run_id), "the script's processes carry the run's marks"
            doomed.kill()  # SIGKILL, the whole worker: main process and pool child
            killed_at = time.monotonic()
            run = wait_run(run_id, "interrupted", timeout=bound + 20)
            took = time.monotonic() - killed_at
        finally:
            doomed.kill() if doomed.proc.poll() is None else None
        print(f"\nrun interrupted {took:.1f}s after the worker was killed (bound {bound:g}s)")
        assert took <= bound, f"interrupted {took:.1f}s after the kill, more than {bound:g}s"
        assert "worker lost" in run.summary
        # The orphaned script (its own session, so the kill did not reach it) was stopped
        # before the interruption committed: nothing can overlap a re-run.
        assert marked_pids(run_id) == []
        told = TimelineEntry.objects.get(
            incident_id=incident["id"], kind=TimelineEntry.Kind.RUN_INTERRUPTED
        )
        assert "stopped" in told.text and "bash" in told.text, told.text

        # The broker delivers the task again (acks_late): a fresh worker must not run it.
        from incidents.tasks import execute_step_run_task

        second = start_worker(ARTIFACTS, queues=queue, RIPCORD_RUN_LEASE_SECONDS=str(LEASE))
        try:
            execute_step_run_task.apply_async(args=(run_id,), queue=queue)
            wait_for(
                lambda: "succeeded in" in second.log(), timeout=20, what="the redelivered task"
            )
            assert StepRun.objects.get(pk=run_id).status == "interrupted"
            assert len(marker.read_text().split()) == 1  # the script ran once

            # A person decides to re-run: a new attempt that runs.
            gate.touch()
            rerun = sysadmin.post(f"/incidents/{incident['id']}/steps/{act}/run")
            assert rerun.status_code == 201 and rerun.json()["attempt"] == 2
            assert wait_run(rerun.json()["id"], "succeeded", "failed").status == "succeeded"
            assert len(marker.read_text().split()) == 2
        finally:
            second.stop()
    finally:
        gate.touch()  # whatever failed, no script of this test may wait forever


@pytest.mark.timeout(90)
def test_worker_start_stops_what_a_dead_worker_on_this_host_left_running(tmp_path, api, people):
    queue = f"left-{RUN_ID}"
    folder = tmp_path / "left"
    write_runbook(folder, queue=queue, script="#!/usr/bin/env bash\nexit 0\n", variables={})
    incident, act = open_lab_incident(api, folder)
    run_id = api("sysadmin").post(f"/incidents/{incident['id']}/steps/{act}/run").json()["id"]
    # The sweeper interrupted it from another host; the worker that ran it here is long dead
    # and left the step's processes behind.
    dead = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1
    StepRun.objects.filter(pk=run_id).update(
        status="interrupted", worker=f"{socket.gethostname()}:{dead}"
    )
    orphans = Orphans()
    try:
        script = orphans.start(
            ["bash", "-c", "sleep 300 & wait"], run_id=run_id, instance=instance_id(), members=2
        )
        worker = start_worker(ARTIFACTS, queues=queue)
        try:
            # Stopped before the worker said it was ready, so before it took any task.
            assert script.poll() == -signal.SIGTERM
            assert marked_pids(run_id) == []
            told = TimelineEntry.objects.get(
                incident_id=incident["id"], kind=TimelineEntry.Kind.LEFTOVERS_STOPPED
            )
            assert f"A worker starting on {socket.gethostname()} stopped 2" in told.text
            # The queued task itself finds the run interrupted and does nothing.
            wait_for(lambda: "succeeded in" in worker.log(), timeout=20, what="the task")
            assert StepRun.objects.get(pk=run_id).status == "interrupted"
        finally:
            worker.stop()
    finally:
        orphans.kill_all()


@pytest.mark.timeout(90)
def test_housekeeping_runs_while_the_step_worker_is_busy(tmp_path, worker, api, people, beat):
    # The step worker (concurrency 1, prefetch 1) is held by a step that waits for a gate...
    marker, gate = tmp_path / "marker", tmp_path / "gate"
    busy_folder = tmp_path / "busy"
    write_runbook(
        busy_folder,
        queue="default",
        script=BLOCKING_SCRIPT,
        variables={"MARKER": str(marker), "GATE": str(gate)},
    )
    lost_folder = tmp_path / "lost"
    write_runbook(lost_folder, queue=f"nobody-{RUN_ID}", script="exit 0\n", variables={})
    try:
        busy, busy_act = open_lab_incident(api, busy_folder)
        busy_run = api("sysadmin").post(f"/incidents/{busy['id']}/steps/{busy_act}/run").json()
        wait_for(lambda: marker.exists(), timeout=20, what="the busy step")
        # ...when another run's worker, on another host, is found silent for a lease already.
        lost, lost_act = open_lab_incident(api, lost_folder)
        lost_run = api("sysadmin").post(f"/incidents/{lost['id']}/steps/{lost_act}/run").json()
        StepRun.objects.filter(pk=lost_run["id"]).update(
            status="running",
            worker="gone.example:1",
            heartbeat_at=timezone.now() - timedelta(seconds=LEASE),
        )
        # Sweeps run on the control queue, so they do not wait for the gate (opened below).
        run = wait_run(lost_run["id"], "interrupted", timeout=sweep_interval(LEASE) + 20)
        assert (
            "may still be alive"
            in TimelineEntry.objects.get(
                incident_id=lost["id"], kind=TimelineEntry.Kind.RUN_INTERRUPTED
            ).text
        )
        assert run.summary.startswith("worker lost")
        assert StepRun.objects.get(pk=busy_run["id"]).status == "running"
    finally:
        gate.touch()
    assert wait_run(busy_run["id"], "succeeded", "failed").status == "succeeded"


def sweeps_done(beat) -> int:
    """Sweeps finished by the control queue's worker (the one embedded with beat)."""
    return len(re.findall(r"sweep_stale_runs_task\[[^\]]+\] succeeded", beat.log()))


@pytest.mark.timeout(120)
def test_step_blocked_in_one_request_past_the_lease_is_not_interrupted(tmp_path, beat, api, people):
    """The worker process renews the lease while its executor waits on one slow request;
    beat's sweeps (run by the control worker) leave it be, and its real outcome is kept."""
    with held_server() as server:
        queue = f"slow-{RUN_ID}"
        folder = tmp_path / "slow"
        write_runbook(
            folder,
            queue=queue,
            script="",
            variables={"API_URL": server.url},
            kind_and_command={"kind": "http", "command": {"method": "GET", "url": "${API_URL}/"}},
        )
        incident, act = open_lab_incident(api, folder)
        blocked_worker = start_worker(ARTIFACTS, queues=queue, RIPCORD_RUN_LEASE_SECONDS=str(LEASE))
        try:
            run_id = (
                api("sysadmin").post(f"/incidents/{incident['id']}/steps/{act}/run").json()["id"]
            )
            try:
                assert server.arrived.wait(30), log_of(run_id)
                blocked_at = time.monotonic()
                wait_for(
                    lambda: time.monotonic() - blocked_at > LEASE + 1,
                    timeout=LEASE + 5,
                    what="the lease to run out for a run renewed only by its executor",
                )
                before = sweeps_done(beat)
                wait_for(lambda: sweeps_done(beat) > before, timeout=20, what="beat's next sweep")
                assert StepRun.objects.get(pk=run_id).status == "running"
            finally:
                server.release.set()
            run = wait_run(run_id, "succeeded", "failed", "interrupted", timeout=30)
            assert (run.status, run.summary) == ("succeeded", "HTTP 200 as expected")
        finally:
            blocked_worker.stop()


@pytest.mark.timeout(90)
def test_double_submitted_run_executes_once(tmp_path, worker, api, people):
    marker = tmp_path / "marker"
    folder = tmp_path / "double"
    write_runbook(
        folder,
        queue="default",
        variables={"MARKER": str(marker)},
        script='#!/usr/bin/env bash\necho "$$" >> "$MARKER"\necho done\n',
    )
    incident, act = open_lab_incident(api, folder)
    clients = [api("sysadmin"), api("ic")]
    barrier = threading.Barrier(2, timeout=10)
    statuses: list[int] = []

    def submit(client: ApiClient) -> None:
        barrier.wait()
        statuses.append(client.post(f"/incidents/{incident['id']}/steps/{act}/run").status_code)

    threads = [threading.Thread(target=submit, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(statuses) == [201, 409]
    runs = list(StepRun.objects.filter(step_id=act))
    assert len(runs) == 1
    assert wait_run(runs[0].pk, "succeeded", "failed").status == "succeeded"
    assert len(marker.read_text().split()) == 1


@pytest.mark.timeout(90)
def test_secrets_redacted_everywhere_and_hostile_values_stay_data(
    tmp_path, worker, api, people, asgi_server, session_cookie
):
    pwned = Path(f"/tmp/pwned-{RUN_ID}")
    hostile = f"$(touch {pwned}); rm -rf {tmp_path}/victim"
    (tmp_path / "victim").mkdir()
    folder = tmp_path / "secret"
    write_runbook(
        folder,
        queue="default",
        variables={"HOSTILE": hostile},
        secrets={"DB_PASSWORD": {"env": "RIPCORD_IT_SECRET"}},
        script='#!/usr/bin/env bash\necho "connecting with $DB_PASSWORD"\necho "input: $HOSTILE"\n',
    )
    incident, act = open_lab_incident(api, folder)
    listener = SocketListener(
        asgi_server.url,
        f"/ws/incidents/{incident['id']}/",
        session_cookie(people["sysadmin"], asgi_server.url)["value"],
    )
    run_id = api("sysadmin").post(f"/incidents/{incident['id']}/steps/{act}/run").json()["id"]
    run = wait_run(run_id, "succeeded", "failed")
    log = log_of(run_id)
    assert run.status == "succeeded", log
    assert "connecting with [secret:DB_PASSWORD]" in log
    wait_for(
        lambda: any("[secret:DB_PASSWORD]" in m for m in listener.messages),
        timeout=10,
        what="the pushed log tail",
    )
    assert f"input: {hostile}" in log  # printed, never executed
    assert not pwned.exists() and (tmp_path / "victim").is_dir()

    # Not in the stored log, the tail, the API (run, log, incident), nor a viewer's page.
    assert SECRET not in log and SECRET not in run.log_tail
    for path in (
        f"/incidents/{incident['id']}/runs/{run_id}",
        f"/incidents/{incident['id']}/runs/{run_id}/log",
        f"/incidents/{incident['id']}",
    ):
        assert SECRET.encode() not in api("sysadmin").get(path).body
    viewer_page = api("pm").get(f"/incidents/{incident['id']}").body
    assert SECRET.encode() not in viewer_page
    # Nowhere in Ripcord's database at all.
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--dbname", database_url_for_tests()],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    # Log chunks are bytea, which pg_dump writes as hex: look for both forms.
    assert b"connecting with [secret:DB_PASSWORD]".hex().encode() in dump
    assert SECRET.encode() not in dump and SECRET.encode().hex().encode() not in dump
    # Nor in what was pushed to the people watching.
    listener.stop()
    pushed = "".join(listener.messages)
    assert "[secret:DB_PASSWORD]" in pushed, pushed[-2000:]
    assert SECRET not in pushed
