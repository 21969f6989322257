"""A shell step whose worker was killed: its processes survive, and abandon finds and stops them.

The "worker" here is a real child interpreter running the shell executor, killed with
SIGKILL mid-step, as a crashed Celery pool process would be.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from runbooks.executors import sessions
from runbooks.executors.leftovers import marked_processes
from runbooks.executors.sessions import INSTANCE_MARKER, RUN_MARKER
from runbooks.executors.shell import ShellExecutor
from tests.executors.test_shell import live_processes_of, wait_until_gone

ROOT = Path(__file__).resolve().parents[2]
executor = ShellExecutor()

# Runs the step in a worker-like child: the step writes its session id once its children
# (one in a session of its own, one with its environment cleared) exist, then waits.
WORKER = """
import sys
from pathlib import Path
from runbooks.executors import Execution
from runbooks.executors.shell import ShellExecutor

run_id, instance, workdir, script = int(sys.argv[1]), sys.argv[2], Path(sys.argv[3]), sys.argv[4]
execution = Execution(run_id=run_id, command={"script": "step.sh"}, env={}, workdir=workdir,
                      files={"step.sh": script}, instance=instance)
ShellExecutor().run(execution, emit=lambda data: None, should_stop=lambda: False)
"""

STEP = """\
sleep 300 &
env -i /bin/sleep 301 &
setsid sleep 302 &
sleep 0.2
echo "$$" > "$HOME/../sid"
wait
"""


@pytest.fixture
def instance():
    """An installation no other test (or engineer's run on this host) marks its steps with."""
    return f"test-{random.randrange(10**9)}"


@pytest.fixture
def started():
    """Popen marked processes in sessions of their own; whatever is left is killed after."""
    sessions: list[int] = []

    def start(argv: list[str], **marks: str) -> subprocess.Popen[bytes]:
        env = {"PATH": os.environ["PATH"], **marks}
        process = subprocess.Popen(argv, env=env, start_new_session=True)
        sessions.append(process.pid)
        return process

    yield start
    for sid in sessions:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(sid, signal.SIGKILL)


def marks(run_id: int, instance: str) -> dict[str, str]:
    return {RUN_MARKER: str(run_id), INSTANCE_MARKER: instance}


@pytest.fixture
def killed_worker(tmp_path, instance):
    """A step started by a worker process, then the worker SIGKILLed: (run id, step session)."""
    run_id = random.randrange(10**8, 10**9)
    worker = subprocess.Popen(
        [sys.executable, "-c", WORKER, str(run_id), instance, str(tmp_path / "work"), STEP],
        cwd=ROOT,
    )
    sid_file = tmp_path / "sid"
    deadline = time.monotonic() + 20
    while not (sid_file.exists() and sid_file.read_text().strip()):
        assert worker.poll() is None and time.monotonic() < deadline, "the step did not start"
        time.sleep(0.05)
    sid = int(sid_file.read_text())
    worker.kill()
    worker.wait(timeout=10)
    yield run_id, sid
    leftovers = live_processes_of(sid) + [p.pid for p in marked_processes(instance).get(run_id, [])]
    for pid in leftovers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def test_abandon_stops_what_a_killed_worker_left_running(killed_worker, instance):
    run_id, sid = killed_worker
    # The worker's death reached none of it: the step leads a session of its own.
    assert len(live_processes_of(sid)) == 3  # bash and two sleeps, one of them unmarked
    assert len(marked_processes(instance)[run_id]) == 3  # bash, and the setsid'd sleep too

    stopped = executor.abandon(run_id, instance=instance)

    assert stopped == "stopped 4 process(es) it left running (bash, sleep)"
    assert wait_until_gone(sid, 1) == []
    assert run_id not in marked_processes(instance)
    assert executor.abandon(run_id, instance=instance) == ""  # nothing left: says so


def test_abandon_leaves_other_runs_and_other_installations_alone(started, instance):
    ours = started(["sleep", "300"], **marks(7, instance))
    other_run = started(["sleep", "300"], **marks(8, instance))
    other_installation = started(["sleep", "300"], **marks(7, f"{instance}-other"))
    unmarked = started(["sleep", "300"])

    assert executor.abandon(7, instance=instance) == "stopped 1 process(es) it left running (sleep)"

    assert ours.wait(timeout=5) == -signal.SIGTERM
    assert [p.poll() for p in (other_run, other_installation, unmarked)] == [None, None, None]


def test_abandon_kills_what_ignores_sigterm_after_the_grace(started, instance, monkeypatch):
    monkeypatch.setattr(sessions, "TERM_GRACE_SECONDS", 0.5)
    stubborn = started(["bash", "-c", "trap '' TERM; sleep 300 & wait"], **marks(9, instance))
    deadline = time.monotonic() + 10
    while len(live_processes_of(stubborn.pid)) < 2:  # bash and its sleep
        assert time.monotonic() < deadline, "the stubborn step did not start"
        time.sleep(0.05)

    assert executor.abandon(9, instance=instance).startswith("stopped 2 process(es)")
    assert stubborn.wait(timeout=5) == -signal.SIGKILL
    assert live_processes_of(stubborn.pid) == []


def test_abandon_with_nothing_left_says_nothing(instance):
    assert executor.abandon(12345, instance=instance) == ""
