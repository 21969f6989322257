"""The shipped Dockerfile and compose.yaml, run as an operator would (issue 14).

The app image is built from the repository's Dockerfile (on a Debian 12 base made here, with
wheels built on the host); compose.yaml's migrate, web, worker and beat come up on the host
network against a database and Redis number of the test's own; the README's command makes
the first commander; incidents are opened and steps run through the HTTP API.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

import pytest

from config.settings import sweep_interval
from tests.deploy.conftest import TIMEOUT, Commander
from tests.deploy.stack import LEASE_SECONDS, OURS, Stack, health, state, wait_until
from tests.deploy.web import Web

pytestmark = [pytest.mark.deploy, pytest.mark.timeout(TIMEOUT)]

# What scripts/print.sh prints (stdout and stderr, in the order written), as the ripcord user
# in the image's run directory.
EXPECTED_PRINT = (
    "Ripcord deployment check\n"
    "user ripcord, working under /var/lib/ripcord/runs\n"
    "unicode: Grüße, 日本語, ✓ and 🚀\n"
    "tab:\there\n"
    "on stderr: erreur détectée\n"
    + "".join(f"line {i:03d} {'=' * (i % 70)}\n" for i in range(1, 301))
    + "the end, without a newline"
).encode()
ENDED = {"succeeded", "failed", "timed_out", "cancelled", "interrupted"}


def open_incident(web: Web, title: str) -> dict[str, Any]:
    incident: dict[str, Any] = web.post(
        "/incidents",
        {"runbook": "deploy-check", "environment": "local", "title": title, "is_drill": True},
        expect=201,
    )
    return incident


def step_id(incident: dict[str, Any], key: str) -> int:
    [found] = [s["id"] for p in incident["phases"] for s in p["steps"] if s["key"] == key]
    return int(found)


def run_step(web: Web, incident: dict[str, Any], key: str) -> dict[str, Any]:
    run: dict[str, Any] = web.post(
        f"/incidents/{incident['id']}/steps/{step_id(incident, key)}/run", expect=201
    )
    return run


def run_path(incident: dict[str, Any], run: dict[str, Any]) -> str:
    return f"/incidents/{incident['id']}/runs/{run['id']}"


def healthy(client: Any, container: str) -> bool:
    return health(client, container) == "healthy"


def at(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def test_migrate_completes_and_every_health_check_passes(stack: Stack, docker_engine):
    migrate = state(docker_engine, stack.container("migrate"))
    assert (migrate["Status"], migrate["ExitCode"]) == ("exited", 0)
    loaded = stack.logs("migrate")
    assert " mig-002 v1 (" in loaded and " deploy-check v1 (" in loaded, loaded
    for service in OURS[1:]:
        assert health(docker_engine, stack.container(service)) == "healthy", service
    # The worker's run directory, on its volume, belongs to the user the containers run as.
    owner = stack.compose("exec", "-T", "worker", "stat", "-c", "%U %a", "/var/lib/ripcord/runs")
    assert owner.stdout.split() == ["ripcord", "700"]


def test_readme_command_creates_the_first_commander(commander: Commander):
    assert commander.created.stdout.strip() == (
        f"Created user '{commander.username}' in group commanders."
    )
    assert commander.password not in commander.created.stdout + commander.created.stderr
    # Signed in with that password (the fixture made a token through the pages) ...
    runbooks = {r["slug"] for r in commander.web.get("/runbooks")}
    assert {"mig-002", "deploy-check"} <= runbooks  # shipped, and the test's mounted one
    # ... and a commander: may open an incident.
    incident = open_incident(commander.web, "first commander")
    assert incident["opened_by"] == commander.username


def test_a_scripted_step_log_reads_back_byte_for_byte(commander: Commander):
    web = commander.web
    incident = open_incident(web, "log round trip")
    run = run_step(web, incident, "print")

    done = wait_until(
        "the print step to end",
        lambda: (r := web.get(run_path(incident, run)))["status"] in ENDED and r,
        timeout=60,
    )

    assert (done["status"], done["exit_code"]) == ("succeeded", 0), done["summary"]
    assert web.raw(run_path(incident, run) + "/log") == EXPECTED_PRINT


def test_a_killed_worker_gives_interrupted_within_lease_and_sweep_and_no_rerun(
    stack: Stack, commander: Commander, docker_engine
):
    web = commander.web
    incident = open_incident(web, "worker killed mid-step")
    run = run_step(web, incident, "long")
    path = run_path(incident, run)

    def started() -> bool:
        if (now := web.get(path))["status"] in ENDED:
            raise AssertionError(f"the long step ended: {now['status']}: {now['summary']}")
        return web.raw(path + "/log") == b"long step started\n"

    wait_until("the long step to print its first line", started, timeout=60)

    worker = stack.container("worker")
    docker_engine.api.kill(worker)
    killed_at = time.time()

    bound = LEASE_SECONDS + sweep_interval(LEASE_SECONDS)
    interrupted = wait_until(
        "the sweeper to interrupt the run",
        lambda: (r := web.get(path))["status"] != "running" and r,
        timeout=bound + 30,
        every=0.2,
    )
    took = at(interrupted["finished_at"]) - killed_at
    print(
        f"interrupted {took:.2f}s after the kill (lease {LEASE_SECONDS}s + sweep {bound - LEASE_SECONDS:.2f}s)"
    )
    assert interrupted["status"] == "interrupted", interrupted
    assert interrupted["summary"] == "worker lost: no heartbeat within the lease"
    # The last renewal was before the kill, so the lease lapsed by kill + lease and a sweep
    # came within one interval after that; 1 s more for the sweep task's delivery and work.
    assert took <= bound + 1.0

    # The worker back (as the restart policy or an operator brings it), and the run's task
    # delivered to it again: it finds the run no longer queued and runs nothing.
    if state(docker_engine, worker)["Status"] != "running":
        print("the killed worker stayed down (docker kill counts as a stop); starting it")
        stack.compose("start", "worker")
    ping = "celery -A config inspect ping --timeout 5 --destination worker@$HOSTNAME"
    try:
        wait_until(
            "the restarted worker to answer",
            lambda: stack.compose_ok("exec", "-T", "worker", "sh", "-c", ping),
            timeout=90,
            every=1,
        )
    except AssertionError:
        print(stack.logs("worker")[-6000:])  # what the worker said instead
        raise
    send = (
        "from config.celery import app; "
        f"print(app.send_task('incidents.tasks.execute_step_run_task', args=[{run['id']}],"
        " queue='default').id)"
    )
    task_id = stack.compose("exec", "-T", "worker", "python", "-c", send).stdout.strip()
    wait_until(
        "the worker to take the redelivered task",
        lambda: f"execute_step_run_task[{task_id}] succeeded" in stack.logs("worker"),
        timeout=60,
    )

    after = web.get(path)
    assert (after["status"], after["attempt"], after["finished_at"]) == (
        "interrupted",
        1,
        interrupted["finished_at"],
    )
    assert web.raw(path + "/log") == b"long step started\n"
    kinds = [
        e["kind"]
        for e in web.get(f"/incidents/{incident['id']}/timeline")["entries"]
        if e["step_id"] == step_id(incident, "long")
    ]
    assert kinds.count("run_started") == 1 and kinds.count("run_interrupted") == 1, kinds

    # Left as found: the restarted worker passes its declared health check again.
    wait_until("the restarted worker to be healthy", lambda: healthy(docker_engine, worker), 100)
