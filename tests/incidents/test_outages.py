"""A run's outcome is its process's outcome, whatever PostgreSQL or Redis do meanwhile.

The database's failures here are real: the test kills the connection the worker's code
is using (``pg_terminate_backend``, as a PostgreSQL restart does to every session),
and the code must notice and carry on over a new one. Only the broker and the channel
layer are stood in for (a send or a push that raises), as a Redis outage makes them;
tests/integration/test_faults_outages.py restarts real servers under a real stack.
"""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace

import psycopg
import pytest
from celery.app.task import Task
from django.db import OperationalError, connection
from django.utils import timezone
from kombu.exceptions import OperationalError as BrokerDown

from incidents import events
from incidents.execution import durable, logsink, runner, sweeper, workdirs
from incidents.execution.finish import finish_run as real_finish
from incidents.execution.logsink import LogSink
from incidents.models import StepRun, StepRunLogChunk, TimelineEntry
from incidents.redaction import Redactor
from incidents.services import delivery, runs
from runbooks.executors.base import Outcome
from tests.incidents.conftest import one_step_incident

committed = pytest.mark.django_db(transaction=True)


def kill_my_connection() -> None:
    """End this thread's database session from outside, as a PostgreSQL restart does."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        (pid,) = cursor.fetchone()
    db = connection.settings_dict
    dsn = f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
    with psycopg.connect(dsn, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        deadline = time.monotonic() + 10
        while admin.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone():
            assert time.monotonic() < deadline, "the session did not end"
            time.sleep(0.02)


def shell_run(enqueued) -> StepRun:
    incident, sysadmin = one_step_incident(
        {"title": "Print", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    return runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)


def stored(run: StepRun) -> bytes:
    chunks = StepRunLogChunk.objects.filter(run=run).order_by("seq")
    return b"".join(bytes(d) for d in chunks.values_list("data", flat=True))


# --- the log sink ------------------------------------------------------------------


@committed
def test_log_sink_holds_output_over_a_dead_connection_and_stores_it_after(enqueued, sent):
    run = shell_run(enqueued)
    sink = LogSink(run, Redactor({}))
    sink.emit(b"one\n")
    sink.flush()
    kill_my_connection()
    sink.emit(b"two\n")
    sink.flush()  # fails on the dead connection: held, not raised into the step
    assert stored(run) == b"one\n"
    sink.emit(b"three")
    sink.close()  # retried over a new connection
    run.refresh_from_db()
    assert stored(run) == b"one\ntwo\nthree"
    assert (run.log_lines, run.log_bytes, run.log_tail) == (3, 13, "one\ntwo\nthree")


@committed
def test_log_sink_takes_a_write_whose_commit_answer_was_lost_as_stored(enqueued, sent):
    run = shell_run(enqueued)
    sink = LogSink(run, Redactor({}))
    sink.emit(b"first\n")
    # The chunk went in, but the worker never heard so (the connection died at COMMIT).
    StepRunLogChunk.objects.create(run=run, seq=0, first_line=0, data=b"first\n")
    sink.emit(b"second\n")
    sink.close()
    assert list(StepRunLogChunk.objects.filter(run=run).values_list("seq", "first_line")) == [
        (0, 0),
        (1, 1),
    ]
    assert stored(run) == b"first\nsecond\n"
    run.refresh_from_db()
    assert (run.log_lines, run.log_bytes) == (2, 13)


@committed
def test_log_sink_drops_a_failed_push_and_pushes_the_newest_tail_later(enqueued, monkeypatch):
    run = shell_run(enqueued)
    pushed: list[str] = []
    redis_down = True

    def group_send(group: str, message: events.HtmlPush) -> None:
        if redis_down:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379")
        pushed.append(message["html"])

    monkeypatch.setattr(events, "group_send", group_send)
    monkeypatch.setattr(logsink, "PUSH_RETRY_SECONDS", 0)
    sink = LogSink(run, Redactor({}))
    sink.emit(b"one\n")
    sink.flush()  # stored; the push fails and is not raised
    sink.emit(b"two\n")
    sink.flush()
    assert stored(run) == b"one\ntwo\n" and pushed == []
    redis_down = False
    sink.flush()  # nothing new printed: the newest tail is pushed all the same
    assert len(pushed) == 1 and "one\ntwo" in pushed[0]
    sink.close()
    assert len(pushed) == 1  # nothing new to push


# --- the runner ----------------------------------------------------------------------


class PrintingExecutor:
    """Prints, lets ``meanwhile`` happen, prints again and exits with ``code``."""

    kind = "shell"

    def __init__(self, meanwhile, code: int = 0) -> None:
        self.meanwhile, self.code = meanwhile, code

    def validate(self, command):
        return []

    def run(self, execution, *, emit, should_stop):
        emit(b"before\n")
        should_stop()  # a poll: flushes
        self.meanwhile()
        emit(b"after\n")
        should_stop()
        return Outcome(self.code == 0, exit_code=self.code, summary=f"exit {self.code}")


@committed
def test_a_dead_connection_mid_step_changes_neither_outcome_nor_log(enqueued, sent, monkeypatch):
    run = shell_run(enqueued)
    monkeypatch.setattr(
        runner, "get_executor", lambda kind: PrintingExecutor(kill_my_connection, 3)
    )
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.exit_code, run.summary) == (StepRun.Status.FAILED, 3, "exit 3")
    assert stored(run) == b"before\nafter\n"


@committed
def test_outcome_write_is_retried_over_a_new_connection(enqueued, sent, monkeypatch):
    run = shell_run(enqueued)
    monkeypatch.setattr(runner, "get_executor", lambda kind: PrintingExecutor(lambda: None))
    calls = []

    def finish_after_a_restart(*args, **kwargs):
        calls.append(args)
        if len(calls) == 1:
            kill_my_connection()  # the database restarted as the step ended
        return real_finish(*args, **kwargs)

    monkeypatch.setattr(runner, "finish_run", finish_after_a_restart)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert len(calls) == 2
    assert (run.status, run.exit_code) == (StepRun.Status.SUCCEEDED, 0)


@committed
def test_outcome_retried_after_its_commit_answer_was_lost_is_recorded_once(
    enqueued, sent, monkeypatch
):
    run = shell_run(enqueued)
    monkeypatch.setattr(runner, "get_executor", lambda kind: PrintingExecutor(lambda: None))
    calls = []

    def committed_but_unheard(*args, **kwargs):
        calls.append(args)
        real_finish(*args, **kwargs)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(runner, "finish_run", committed_but_unheard)
    runner.execute_run(run.pk)
    assert len(calls) == 2
    finished = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RUN_FINISHED, data__run=run.pk)
    assert finished.count() == 1
    assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.SUCCEEDED


def test_keep_trying_gives_up_at_its_deadline_or_when_told(monkeypatch):
    monkeypatch.setattr(durable, "RETRY_FIRST_SECONDS", 0.01)
    attempts = []

    def down():
        attempts.append(1)
        raise OperationalError("connection refused")

    with pytest.raises(OperationalError):
        durable.keep_trying(down, what="write", deadline=time.monotonic() + 0.2)
    assert len(attempts) > 1
    with pytest.raises(durable.GaveUp):
        durable.keep_trying(
            down, what="write", deadline=time.monotonic() + 60, give_up=lambda: True
        )
    flaky = iter([OperationalError("refused"), OperationalError("refused"), None])

    def comes_back() -> str:
        if error := next(flaky):
            raise error
        return "written"

    assert (
        durable.keep_trying(comes_back, what="write", deadline=time.monotonic() + 60) == "written"
    )


# --- the broker away when a run is asked for -----------------------------------------


@pytest.fixture
def broker(monkeypatch):
    """Task sends that fail while ``broker.down`` is set (Redis away), recorded otherwise."""
    from incidents.tasks import execute_step_run_task  # registered: sent through apply_async

    state = SimpleNamespace(down=True, sent=[], task=execute_step_run_task.name)

    def apply_async(task, args=(), kwargs=None, **options):
        if state.down:
            raise BrokerDown("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        state.sent.append((task.name, args, options.get("queue")))

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return state


def waiting_entries(run: StepRun) -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RUN_WAITING, data__run=run.pk))


@pytest.mark.django_db
def test_run_asked_while_the_broker_is_down_is_queued_and_sent_once_it_is_back(
    broker, sent, django_capture_on_commit_callbacks
):
    incident, sysadmin = one_step_incident(
        {"title": "Print", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)  # no raise
    run.refresh_from_db()
    assert run.status == StepRun.Status.QUEUED and run.undelivered_at is not None
    [entry] = waiting_entries(run)
    assert "could not be handed to the task queue" in entry.text and entry.data["undelivered"]

    assert delivery.resend_undelivered() == []  # still down: still marked
    assert StepRun.objects.get(pk=run.pk).undelivered_at is not None

    broker.down = False
    sweeper.sweep_stale_runs()
    assert [(name, args) for name, args, _ in broker.sent] == [
        ("incidents.tasks.execute_step_run_task", (run.pk,))
    ]
    assert StepRun.objects.get(pk=run.pk).undelivered_at is None
    sweeper.sweep_stale_runs()
    assert len(broker.sent) == 1  # sent once


@pytest.mark.django_db
def test_a_resent_run_still_waiting_is_flagged_as_any_waiting_run(
    broker, sent, django_capture_on_commit_callbacks
):
    incident, sysadmin = one_step_incident(
        {"title": "Print", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)
    StepRun.objects.filter(pk=run.pk).update(requested_at=timezone.now() - timedelta(hours=1))
    assert sweeper.warn_waiting_runs() == []  # its entry already says it waits for the queue
    broker.down = False
    assert delivery.resend_undelivered() == [run.pk]
    assert sweeper.warn_waiting_runs() == [run.pk]  # sent, and still nobody takes it
    assert len(waiting_entries(run)) == 2


@pytest.mark.django_db
def test_a_run_delivered_twice_executes_once(enqueued, sent, monkeypatch):
    run = shell_run(enqueued)
    executions = []

    class Once(PrintingExecutor):
        def run(self, execution, *, emit, should_stop):
            executions.append(execution.run_id)
            return super().run(execution, emit=emit, should_stop=should_stop)

    monkeypatch.setattr(runner, "get_executor", lambda kind: Once(lambda: None))
    runner.execute_run(run.pk)
    runner.execute_run(run.pk)  # the re-sent task, delivered late
    assert executions == [run.pk]


# --- the sweeper -----------------------------------------------------------------------


@pytest.mark.django_db
def test_sweeper_judges_no_lease_until_the_database_was_up_for_one(enqueued):
    run = shell_run(enqueued)
    assert runner.claim(run.pk)
    uptime = sweeper.database_uptime()
    assert uptime is not None and uptime > 0
    # As old as an outage longer than the server's uptime: a lease it could not renew.
    StepRun.objects.filter(pk=run.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=uptime + 120)
    )
    assert sweeper.sweep_stale_runs(lease_seconds=int(uptime) + 60) == []
    assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.RUNNING
    assert sweeper.sweep_stale_runs(lease_seconds=30) == [run.pk]


@pytest.mark.django_db
def test_sweeper_removes_the_folders_of_ended_runs_only(enqueued, settings, tmp_path):
    settings.RIPCORD_RUN_DIR = tmp_path
    ended = shell_run(enqueued)
    assert runner.claim(ended.pk)
    StepRun.objects.filter(pk=ended.pk).update(status=StepRun.Status.INTERRUPTED)
    running = runs.request_run(step_id=ended.step_id, by=ended.requested_by)  # the re-run
    assert runner.claim(running.pk)
    live_dir, dead_dir = workdirs.make_workdir(running.pk), workdirs.make_workdir(ended.pk)
    gone_dir = workdirs.make_workdir(ended.pk + 1000)  # its run (its incident) was deleted
    (dead_dir / "secret.pem").write_text("left behind by a killed worker")
    other = tmp_path / f"run-0123456789ab-{ended.pk}-x"  # another installation's run
    other.mkdir()
    unrelated = tmp_path / "notes"
    unrelated.mkdir()
    sweeper.sweep_stale_runs(lease_seconds=30)
    assert live_dir.is_dir() and other.is_dir() and unrelated.is_dir()
    assert not dead_dir.exists() and not gone_dir.exists()
