"""The worst day: Redis and PostgreSQL restarted under running steps, and the outcome holds.

A stack of its own (uvicorn, a step worker, a control worker with beat) runs against a
Redis and a PostgreSQL cluster of this module's own, on free ports
(tests/integration/servers.py): the machine's shared services are never touched. The
test process's own database connection moves to that cluster for the module.

Each scenario runs REPEATS times (``RIPCORD_FAULT_REPEATS``, 3 by default) and must
record exactly what happened every time:

- Redis restarted under a printing step: its true exit code and its whole log;
- Redis restarted under a worker with a task in flight: the worker lives and serves on;
- PostgreSQL restarted under a printing step, under a step that exits during the outage,
  and under a person's cancel: each recorded as what the process did;
- "Run" while the broker is down: no 500; the run starts once the broker is back, once,
  and a second delivery of its task does not run it again.

The scripts print numbered lines ("line 1", "line 2", ...) and count them in a file, so
a test knows how far a step got, and the stored log must be exactly lines 1..N plus the
script's last words: nothing lost, nothing doubled. Outages last longer than the lease
(LEASE), so a sweeper that judged a run by its heartbeat alone would interrupt it.
"""

from __future__ import annotations

import os
import re
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.db import connections

from common.capabilities import COMMANDERS, RESPONDERS
from common.tokens import create_token
from incidents.models import StepRun, TimelineEntry
from tests.factories import make_user
from tests.integration.conftest import ARTIFACTS
from tests.integration.http import ApiClient
from tests.integration.processes import (
    BROKER_PREFIX,
    Process,
    database_url_for_tests,
    sending_to,
    start_beat,
    start_server,
    start_worker,
    wait_for,
)
from tests.integration.runs import (
    log_of,
    open_lab_incident,
    stored_log,
    wait_run,
    write_runbook,
)
from tests.integration.servers import (
    PostgresCluster,
    RedisServer,
    database_moved_to,
    missing_binaries,
)

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REPEATS = int(os.environ.get("RIPCORD_FAULT_REPEATS", "3"))
LEASE = 3
OUTAGE = LEASE + 1.5  # seconds a service stays down, at least
# Per test, the first one's share of starting the stack included (about 40 s here).
TIMEOUT = 180


@dataclass
class Stack:
    redis: RedisServer
    postgres: PostgresCluster
    server: Process
    worker: Process
    control: Process  # the control queue's worker, with beat: the sweeper

    def processes(self) -> list[Process]:
        return [self.server, self.worker, self.control]


@pytest.fixture(scope="module")
def own_services(django_db_setup, django_db_blocker, tmp_path_factory):
    """A Redis and a PostgreSQL of this module's own; the test database copied to the latter."""
    if missing := missing_binaries():
        if os.environ.get("CI") == "true":
            pytest.fail(f"fault tests need {', '.join(missing)} (CI runs every test)")
        pytest.skip(f"fault tests need {', '.join(missing)}")
    redis = RedisServer(tmp_path_factory.mktemp("own-redis"))
    postgres = PostgresCluster()
    try:
        redis.start()
        postgres.create().start()
        with django_db_blocker.unblock():
            name = connections["default"].settings_dict["NAME"]
            postgres.copy_database(database_url_for_tests(), name)
        with database_moved_to(postgres.port):
            yield redis, postgres
    finally:
        redis.stop()
        postgres.destroy()


@pytest.fixture(scope="module")
def stack(own_services, django_db_blocker, tmp_path_factory) -> Iterator[Stack]:
    redis, postgres = own_services
    env = {
        "REDIS_URL": redis.url(0),
        "CELERY_BROKER_URL": redis.url(1),
        "RIPCORD_RUN_LEASE_SECONDS": str(LEASE),
        "RIPCORD_RUN_DIR": str(tmp_path_factory.mktemp("run-dirs")),
    }
    started: list[Process] = []
    try:
        with django_db_blocker.unblock():
            started.append(start_server(ARTIFACTS, **env))
            # As compose.yaml starts it: the pool's size is the settings' to choose.
            started.append(start_worker(ARTIFACTS, queues="default", concurrency=None, **env))
            started.append(start_beat(ARTIFACTS, **env))
        with sending_to(redis.url(1), BROKER_PREFIX):
            yield Stack(redis, postgres, *started)
    finally:
        for process in started:
            process.stop()


@pytest.fixture
def up(stack: Stack) -> Iterator[Stack]:
    """The stack with both services up before and after the test, its processes alive after."""
    if not stack.redis.running:
        stack.redis.start()
    yield stack
    if not stack.redis.running:
        stack.redis.start()
    for process in stack.processes():
        assert process.proc.poll() is None, f"{process.name} died:\n{process.log()[-3000:]}"
        assert "Unrecoverable error" not in process.log(), process.log()[-3000:]


@pytest.fixture
def api(up: Stack, transactional_db) -> Callable[[str], ApiClient]:
    people = {"ic": make_user("ic", COMMANDERS), "sysadmin": make_user("sysadmin", RESPONDERS)}
    tokens = {name: create_token(user, "faults")[1] for name, user in people.items()}
    return lambda name: ApiClient(up.server.url, tokens[name])


# --- the scripts ------------------------------------------------------------------

# Prints numbered lines until $GATE exists, counting them in $COUNT, then its last line,
# and exits with $EXIT_CODE.
PRINTER = """\
    #!/usr/bin/env bash
    i=0
    while [[ ! -f "$GATE" ]]; do
        i=$((i + 1))
        printf 'line %d\\n' "$i"
        echo "$i" > "$COUNT.tmp" && mv "$COUNT.tmp" "$COUNT"
        sleep 0.02
    done
    printf 'done after %d lines\\n' "$i"
    touch "$EXITED"
    exit "$EXIT_CODE"
    """

# As PRINTER, but a TERM (a cancel) makes it say so, take a second, and exit 143.
CANCELLABLE = """\
    #!/usr/bin/env bash
    trap 'printf "stopping\\n"; touch "$TERMED"; sleep 1; printf "stopped\\n"; exit 143' TERM
    i=0
    while true; do
        i=$((i + 1))
        printf 'line %d\\n' "$i"
        echo "$i" > "$COUNT.tmp" && mv "$COUNT.tmp" "$COUNT"
        sleep 0.05
    done
    """

# Says it started, waits quietly for $GATE, says it is done.
QUIET = """\
    #!/usr/bin/env bash
    printf 'line 1\n'
    echo 1 > "$COUNT"
    while [[ ! -f "$GATE" ]]; do sleep 0.1; done
    printf 'done after 1 lines\n'
    """

ONCE = """\
    #!/usr/bin/env bash
    echo "$$" >> "$MARKER"
    echo ran
    """


@dataclass
class Files:
    gate: Path
    count: Path
    exited: Path
    termed: Path
    marker: Path

    def printed(self) -> int:
        try:
            return int(self.count.read_text() or 0)
        except (FileNotFoundError, ValueError):
            return 0


def lab_run(
    tmp_path: Path, api: Callable[[str], ApiClient], script: str, *, exit_code: int = 0
) -> tuple[dict[str, Any], int, Files]:
    """An incident of a one-step runbook around ``script``; returns it, its step and its files."""
    files = Files(*(tmp_path / name for name in ("gate", "count", "exited", "termed", "marker")))
    folder = tmp_path / "lab"
    write_runbook(
        folder,
        queue="default",
        script=textwrap.dedent(script),
        variables={
            "GATE": str(files.gate),
            "COUNT": str(files.count),
            "EXITED": str(files.exited),
            "TERMED": str(files.termed),
            "MARKER": str(files.marker),
            "EXIT_CODE": str(exit_code),
        },
    )
    incident, act = open_lab_incident(api, folder)
    return incident, act, files


def start_run(api: Callable[[str], ApiClient], incident: dict[str, Any], act: int) -> int:
    started = api("sysadmin").post(f"/incidents/{incident['id']}/steps/{act}/run")
    assert started.status_code == 201, started.body
    return int(started.json()["id"])


def numbered(lines: int) -> bytes:
    return b"".join(b"line %d\n" % n for n in range(1, lines + 1))


def assert_whole_log(run_id: int, files: Files, ending: bytes) -> None:
    """The stored log is lines 1..N, then ``ending`` (a regular expression): nothing lost,
    nothing doubled."""
    log = stored_log(run_id)
    found = re.findall(rb"^line (\d+)$", log, flags=re.MULTILINE)
    lines = int(found[-1]) if found else 0
    assert lines >= files.printed() > 0, log_of(run_id)[-2000:]
    assert log.startswith(numbered(lines)), log_of(run_id)[-2000:]
    assert re.fullmatch(ending, log[len(numbered(lines)) :]), log_of(run_id)[-2000:]


def grows_by(files: Files, lines: int) -> Callable[[], bool]:
    target = files.printed() + lines
    return lambda: files.printed() >= target


def down_while(
    stop: Callable[[], None], start: Callable[[], None], hold: Callable[[], None]
) -> None:
    """Stop a service, run ``hold`` (which waits for what must happen meanwhile), and start
    it again once it has been down OUTAGE seconds at least."""
    stop()
    went_down = time.monotonic()
    try:
        hold()
        left = OUTAGE - (time.monotonic() - went_down)
        if left > 0:
            time.sleep(left)  # the outage's length is the scenario, not a wait for a result
    finally:
        start()
        connections.close_all()  # this process's connection died with a PostgreSQL restart


def connected(worker: Process) -> int:
    """How often the worker has (re)connected to its broker, by its log; fails if it died."""
    assert worker.proc.poll() is None, f"the worker died:\n{worker.log()[-3000:]}"
    return worker.log().count("Connected to redis://")


def repeats() -> Any:
    return pytest.mark.parametrize("attempt", range(REPEATS))


def restart_under_a_printing_step(attempt: int, tmp_path, api, server) -> None:
    """``server`` restarted while a step prints: the run ends with the script's own exit code
    (``attempt``: 0 succeeds, others fail) and its whole log, line for line."""
    incident, act, files = lab_run(tmp_path, api, PRINTER, exit_code=attempt)
    run_id = start_run(api, incident, act)
    try:
        wait_for(lambda: files.printed() >= 5, timeout=30, what="the step to print")
        down_while(
            server.stop,
            server.start,
            lambda: wait_for(grows_by(files, 20), timeout=20, what="printing during the outage"),
        )
        wait_for(grows_by(files, 20), timeout=20, what="printing after the outage")
    finally:
        files.gate.touch()
    run = wait_run(run_id, "succeeded", "failed", "interrupted", "timed_out", timeout=60)
    expected = "succeeded" if attempt == 0 else "failed"
    assert (run.status, run.exit_code) == (expected, attempt), log_of(run_id)[-2000:]
    assert_whole_log(run_id, files, re.escape(b"done after %d lines\n" % files.printed()))


# --- Redis ----------------------------------------------------------------------------


@repeats()
@pytest.mark.timeout(TIMEOUT)
def test_redis_restart_under_a_printing_step_keeps_its_exit_code_and_whole_log(
    attempt, tmp_path, up, api
):
    restart_under_a_printing_step(attempt, tmp_path, api, up.redis)


@repeats()
@pytest.mark.timeout(TIMEOUT)
def test_redis_restart_with_a_task_in_flight_leaves_the_worker_serving(attempt, tmp_path, up, api):
    incident, act, files = lab_run(tmp_path, api, QUIET)
    pid = up.worker.proc.pid
    run_id = start_run(api, incident, act)
    try:
        wait_for(lambda: files.printed() >= 1, timeout=30, what="the step to start")
        reconnects = connected(up.worker)
        down_while(up.redis.stop, up.redis.start, lambda: None)
        wait_for(
            lambda: connected(up.worker) > reconnects,
            timeout=30,
            what="the worker to reconnect to the broker",
        )
    finally:
        files.gate.touch()
    assert wait_run(run_id, "succeeded", "failed", "interrupted", timeout=60).status == "succeeded"
    assert up.worker.proc.poll() is None, up.worker.log()[-3000:]
    # The same worker process takes the next task from the restarted broker.
    folder = tmp_path / "next"
    write_runbook(
        folder,
        queue="default",
        script=textwrap.dedent(ONCE),
        variables={"MARKER": str(files.marker)},
    )
    incident, act = open_lab_incident(api, folder)
    following = wait_run(start_run(api, incident, act), "succeeded", "failed", timeout=60)
    assert following.status == "succeeded", log_of(following.pk)
    assert up.worker.proc.pid == pid and up.worker.proc.poll() is None
    assert len(files.marker.read_text().split()) == 1


@repeats()
@pytest.mark.timeout(TIMEOUT)
def test_run_while_the_broker_is_down_starts_once_when_it_is_back(attempt, tmp_path, up, api):
    from incidents.tasks import execute_step_run_task

    incident, act, files = lab_run(tmp_path, api, ONCE)
    up.redis.stop()
    try:
        started = api("sysadmin").post(f"/incidents/{incident['id']}/steps/{act}/run")
        assert started.status_code == 201, started.body  # committed: never a 500
        run_id = int(started.json()["id"])
        assert StepRun.objects.get(pk=run_id).status == "queued"
        waiting = TimelineEntry.objects.filter(
            incident_id=incident["id"], kind=TimelineEntry.Kind.RUN_WAITING, data__run=run_id
        )
        assert waiting.exists(), list(TimelineEntry.objects.values_list("text", flat=True))
    finally:
        up.redis.start()
    # The sweeper sends it once the broker answers again.
    run = wait_run(run_id, "succeeded", "failed", timeout=60)
    assert run.status == "succeeded", log_of(run_id)
    assert len(files.marker.read_text().split()) == 1
    # Whatever delivers its task again (a re-send racing a late delivery) finds it taken.
    again = execute_step_run_task.apply_async(args=(run_id,), queue="default")
    wait_for(lambda: f"[{again.id}] succeeded" in up.worker.log(), timeout=30, what="the resend")
    assert StepRun.objects.get(pk=run_id).status == "succeeded"
    assert len(files.marker.read_text().split()) == 1


# --- PostgreSQL -----------------------------------------------------------------------


@repeats()
@pytest.mark.timeout(TIMEOUT)
def test_postgres_restart_under_a_printing_step_keeps_its_exit_code_and_whole_log(
    attempt, tmp_path, up, api
):
    restart_under_a_printing_step(attempt, tmp_path, api, up.postgres)


@repeats()
@pytest.mark.timeout(TIMEOUT)
def test_postgres_down_when_the_step_exits_records_its_exit_and_last_lines(
    attempt, tmp_path, up, api
):
    incident, act, files = lab_run(tmp_path, api, PRINTER, exit_code=attempt)
    run_id = start_run(api, incident, act)
    try:
        wait_for(lambda: files.printed() >= 5, timeout=30, what="the step to print")

        def exit_meanwhile() -> None:
            files.gate.touch()
            wait_for(files.exited.exists, timeout=20, what="the step to exit during the outage")

        down_while(up.postgres.stop, up.postgres.start, exit_meanwhile)
    finally:
        files.gate.touch()
    run = wait_run(run_id, "succeeded", "failed", "interrupted", "timed_out", timeout=60)
    expected = "succeeded" if attempt == 0 else "failed"
    assert (run.status, run.exit_code) == (expected, attempt), log_of(run_id)[-2000:]
    last = b"done after %d lines\n" % files.printed()
    assert_whole_log(run_id, files, re.escape(last))
    assert run.log_tail.endswith(last.decode().strip()), run.log_tail


@repeats()
@pytest.mark.timeout(TIMEOUT)
def test_postgres_restart_under_a_cancel_records_the_cancel(attempt, tmp_path, up, api):
    incident, act, files = lab_run(tmp_path, api, CANCELLABLE)
    run_id = start_run(api, incident, act)
    wait_for(lambda: files.printed() >= 5, timeout=30, what="the step to print")
    cancel = api("ic").post(f"/incidents/{incident['id']}/runs/{run_id}/cancel")
    assert cancel.status_code == 200, cancel.body
    wait_for(files.termed.exists, timeout=20, what="the step to hear the cancel")
    # Down while the step finishes stopping (its trap takes a second) and the worker records it.
    down_while(up.postgres.stop, up.postgres.start, lambda: None)
    run = wait_run(run_id, "cancelled", "failed", "interrupted", "succeeded", timeout=60)
    assert (run.status, run.summary) == ("cancelled", "cancelled"), log_of(run_id)[-2000:]
    assert run.cancel_requested_by is not None and run.cancel_requested_by.username == "ic"
    # bash reports the loop's sleep it was waiting for as killed (the TERM reached the group).
    assert_whole_log(run_id, files, rb"(?:[^\n]*Terminated[^\n]*\n)?stopping\nstopped\n")
