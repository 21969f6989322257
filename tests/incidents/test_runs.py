"""Run requests, approvals, cancel, execution and the sweeper, with a scripted fake executor.

The real executors are tested on their own (tests/executors); the real Celery
worker path is tested in tests/integration.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents import services
from incidents.execution import runner, sweeper
from incidents.models import Step, StepRun, StepRunLogChunk, TimelineEntry
from incidents.services import runs
from runbooks.executors.base import Outcome, StepCancelled, TransientExecutorError

pytestmark = pytest.mark.django_db


class FakeExecutor:
    kind = "shell"

    def __init__(self, lines=("one", "two"), succeed=True, stop_check=False):
        self.lines, self.succeed, self.stop_check = lines, succeed, stop_check
        self.executions = []

    def validate(self, command):
        return []

    def run(self, execution, *, emit, should_stop):
        self.executions.append(execution)
        for line in self.lines:
            emit(line.encode() + b"\n")
        if self.stop_check and should_stop():
            raise StepCancelled()
        return Outcome(
            self.succeed,
            exit_code=0 if self.succeed else 3,
            summary="exit 0" if self.succeed else "exit 3",
        )


@pytest.fixture
def fake(monkeypatch):
    executor = FakeExecutor()
    monkeypatch.setattr(runner, "get_executor", lambda kind: executor)
    return executor


@pytest.fixture
def ready(incident, step, backend, sysadmin):
    """The restore step's requirements are settled."""
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    services.complete_step(step_id=step("stop-writes").pk, by=sysadmin)
    return step("restore")


def test_gated_step_waits_for_approval_then_queues(
    ready, sysadmin, ic, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.request_run(step_id=ready.pk, by=sysadmin)
    assert run.status == StepRun.Status.AWAITING_APPROVAL and enqueued == []
    with django_capture_on_commit_callbacks(execute=True):
        runs.approve_run(run_id=run.pk, by=ic)
    run.refresh_from_db()
    assert (run.status, run.approved_by) == (StepRun.Status.QUEUED, ic)
    assert enqueued == [(run.pk, "default")]
    assert enqueued.options == [{"soft_time_limit": 900 + 60, "time_limit": 900 + 120}]


def test_run_time_limits_follow_the_step_timeout_not_the_global_ones(
    ready, sysadmin, ic, enqueued, settings, django_capture_on_commit_callbacks
):
    day = 24 * 3600  # the longest timeout a runbook may give a step
    Step.objects.filter(pk=ready.pk).update(timeout_seconds=day)
    with django_capture_on_commit_callbacks(execute=True):
        run = queued_run(ready, sysadmin, ic)
    assert enqueued == [(run.pk, "default")]
    [limits] = enqueued.options
    soft, hard = limits["soft_time_limit"], limits["time_limit"]
    assert day < soft < hard  # the step's timeout fires first, then soft (cleanup), then hard
    assert soft > settings.CELERY_TASK_SOFT_TIME_LIMIT  # the 3 h default would cut it short


def test_short_step_runs_get_short_time_limits(
    ready, sysadmin, ic, enqueued, django_capture_on_commit_callbacks
):
    Step.objects.filter(pk=ready.pk).update(timeout_seconds=30)
    with django_capture_on_commit_callbacks(execute=True):
        queued_run(ready, sysadmin, ic)
    assert enqueued.options == [{"soft_time_limit": 90, "time_limit": 150}]


def test_requester_cannot_approve_own_run(ready, ic):
    run = runs.request_run(step_id=ready.pk, by=ic)
    with pytest.raises(services.ServiceError, match="other than the requester"):
        runs.approve_run(run_id=run.pk, by=ic)


def test_one_active_run_per_step(ready, sysadmin, ic):
    runs.request_run(step_id=ready.pk, by=sysadmin)
    with pytest.raises(services.ServiceError, match="already has a run"):
        runs.request_run(step_id=ready.pk, by=ic)
    assert StepRun.objects.filter(step=ready).count() == 1


def test_run_refused_before_requirements(incident, step, sysadmin):
    with pytest.raises(services.ServiceError, match="First finish or skip"):
        runs.request_run(step_id=step("restore").pk, by=sysadmin)


def queued_run(step_obj, by, approver):
    run = runs.request_run(step_id=step_obj.pk, by=by)
    if run.status == StepRun.Status.AWAITING_APPROVAL:
        runs.approve_run(run_id=run.pk, by=approver)
    return run


def test_execute_runs_once_when_redelivered(ready, sysadmin, ic, fake, enqueued):
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    runner.execute_run(run.pk)  # acks_late redelivery
    run.refresh_from_db()
    assert run.status == StepRun.Status.SUCCEEDED and len(fake.executions) == 1
    assert Step.objects.get(pk=ready.pk).state == Step.State.DONE
    log = b"".join(StepRunLogChunk.objects.filter(run=run).values_list("data", flat=True))
    assert log == b"one\ntwo\n" and run.log_lines == 2 and run.log_tail == "one\ntwo"


def test_failed_run_leaves_step_pending_and_allows_rerun(ready, sysadmin, ic, fake, enqueued):
    fake.succeed = False
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.exit_code) == (StepRun.Status.FAILED, 3)
    assert Step.objects.get(pk=ready.pk).state == Step.State.PENDING
    again = runs.request_run(step_id=ready.pk, by=sysadmin)
    assert again.attempt == 2


def test_transient_executor_error_fails_the_run_and_is_never_retried(
    ready, sysadmin, ic, fake, enqueued, monkeypatch, django_capture_on_commit_callbacks
):
    def engine_away(execution, *, emit, should_stop):
        fake.executions.append(execution)
        raise TransientExecutorError("docker: engine unreachable: connection refused")

    monkeypatch.setattr(fake, "run", engine_away)
    with django_capture_on_commit_callbacks(execute=True):
        run = queued_run(ready, sysadmin, ic)
    with django_capture_on_commit_callbacks(execute=True):
        runner.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == StepRun.Status.FAILED
    assert run.summary == "transient error: docker: engine unreachable: connection refused"
    # Once, and not handed to Celery again: a re-run is a person's new attempt.
    assert len(fake.executions) == 1 and enqueued == [(run.pk, "default")]


def test_unmet_need_fails_the_run_at_once_naming_it(ready, sysadmin, ic, fake, enqueued):
    # The staging environment names a database but no server to find it on.
    Step.objects.filter(pk=ready.pk).update(needs=["postgresql"])
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == StepRun.Status.FAILED
    assert run.summary.startswith(
        "This step needs a PostgreSQL target: the environment names no PostgreSQL target"
    )
    assert fake.executions == []  # nothing ran


def test_cancel_before_start_never_executes(ready, sysadmin, ic, fake, enqueued):
    run = queued_run(ready, sysadmin, ic)
    runs.cancel_run(run_id=run.pk, by=sysadmin)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == StepRun.Status.CANCELLED and fake.executions == []


def test_sweeper_interrupts_stale_run_and_tells_incident(ready, sysadmin, ic, enqueued):
    run = queued_run(ready, sysadmin, ic)
    assert runner.claim(run.pk)
    StepRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
    assert sweeper.sweep_stale_runs(lease_seconds=30) == [run.pk]
    run.refresh_from_db()
    assert run.status == StepRun.Status.INTERRUPTED
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RUN_INTERRUPTED).count() == 1
    # A redelivered task cannot run it again; a person can.
    runner.execute_run(run.pk)
    assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.INTERRUPTED
    assert runs.request_run(step_id=ready.pk, by=sysadmin).attempt == 2


def test_sweeper_leaves_fresh_runs(ready, sysadmin, ic, enqueued):
    run = queued_run(ready, sysadmin, ic)
    assert runner.claim(run.pk)
    assert sweeper.sweep_stale_runs(lease_seconds=30) == []


def test_secrets_are_redacted_before_storage(
    ready, sysadmin, ic, fake, enqueued, monkeypatch, version
):
    from incidents import environment
    from incidents.redaction import Redactor

    monkeypatch.setattr(
        environment,
        "resolve",
        lambda run, env: environment.RunEnvironment(
            env={"DB_PASSWORD": "hunter22-secret"},
            redact=Redactor({"DB_PASSWORD": "hunter22-secret"}),
        ),
    )
    fake.lines = ("connecting with hunter22-secret", "ok")
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    log = b"".join(StepRunLogChunk.objects.filter(run=run).values_list("data", flat=True))
    assert b"hunter22" not in log and "hunter22" not in run.log_tail
    assert b"[secret:DB_PASSWORD]" in log


def test_secrets_are_redacted_from_the_outcome(ready, sysadmin, ic, enqueued, monkeypatch):
    """Summary and evidence hold output too (a row, an error); the summary reaches viewers."""
    from incidents import environment
    from incidents.redaction import Redactor

    monkeypatch.setattr(
        environment,
        "resolve",
        lambda run, env: environment.RunEnvironment(
            env={"DB_PASSWORD": "hunter22-secret"},
            redact=Redactor({"DB_PASSWORD": "hunter22-secret"}),
        ),
    )

    class Leaky(FakeExecutor):
        def run(self, execution, *, emit, should_stop):
            return Outcome(
                False,
                exit_code=1,
                summary="expected scalar 'x', saw 'hunter22-secret'",
                evidence={"seen": {"first_rows": [["hunter22-secret", 2]]}, "n": 1},
            )

    monkeypatch.setattr(runner, "get_executor", lambda kind: Leaky())
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert run.summary == "expected scalar 'x', saw '[secret:DB_PASSWORD]'"
    assert run.evidence == {"seen": {"first_rows": [["[secret:DB_PASSWORD]", 2]]}, "n": 1}
    texts = TimelineEntry.objects.filter(incident=run.incident).values_list("text", flat=True)
    assert not [text for text in texts if "hunter22" in text]


def test_nul_in_an_outcome_is_stored_with_a_replacement_character(
    ready, sysadmin, ic, enqueued, monkeypatch
):
    """jsonb and text columns refuse NUL; a body or a row may carry one, with no secret about."""

    class Nul(FakeExecutor):
        def run(self, execution, *, emit, should_stop):
            return Outcome(
                False,
                summary="saw a\x00b",
                evidence={
                    "body_excerpt": "x\x00y",
                    "k\x00": [["\x00", 1]],
                    "nested": {"a": "\x00"},
                },
            )

    monkeypatch.setattr(runner, "get_executor", lambda kind: Nul())
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    run.refresh_from_db()  # read back from PostgreSQL's jsonb, not the object that was saved
    assert (run.status, run.summary) == (StepRun.Status.FAILED, "saw a\ufffdb")
    assert run.evidence == {
        "body_excerpt": "x\ufffdy",
        "k\ufffd": [["\ufffd", 1]],
        "nested": {"a": "\ufffd"},
    }
    finished = TimelineEntry.objects.get(kind=TimelineEntry.Kind.RUN_FINISHED)
    assert "\x00" not in finished.text


# --- a step's requirements hold for as long as its run is under way ---------------


def run_in(status, ready, sysadmin, ic):
    """A run of the (gated) restore step, brought to ``status`` as people and a worker would."""
    run = runs.request_run(step_id=ready.pk, by=sysadmin)
    if status != StepRun.Status.AWAITING_APPROVAL:
        runs.approve_run(run_id=run.pk, by=ic)
    if status == StepRun.Status.RUNNING:
        assert runner.claim(run.pk)
    run.refresh_from_db()
    assert run.status == status
    return run


UNDER_WAY = [StepRun.Status.AWAITING_APPROVAL, StepRun.Status.QUEUED, StepRun.Status.RUNNING]


@pytest.mark.parametrize("status", UNDER_WAY)
def test_skip_step_refused_while_its_run_is_under_way(
    status, ready, sysadmin, ic, incident, enqueued
):
    run = run_in(status, ready, sysadmin, ic)
    entries = incident.timeline.count()
    with pytest.raises(services.ServiceError, match="cancel the run first") as err:
        services.skip_step(step_id=ready.pk, by=ic, reason="restored by hand")
    assert err.value.conflict and status.label.lower() in err.value.message
    assert Step.objects.get(pk=ready.pk).state == Step.State.PENDING
    assert incident.timeline.count() == entries
    runs.cancel_run(run_id=run.pk, by=sysadmin)
    if status != StepRun.Status.RUNNING:  # a running one stops when the worker sees the cancel
        services.skip_step(step_id=ready.pk, by=ic, reason="restored by hand")
        assert Step.objects.get(pk=ready.pk).state == Step.State.SKIPPED


@pytest.mark.parametrize("status", UNDER_WAY)
def test_reopen_step_refused_while_a_step_requiring_it_has_a_run_under_way(
    status, ready, sysadmin, ic, step, incident, enqueued
):
    run = run_in(status, ready, sysadmin, ic)
    with pytest.raises(services.ServiceError) as err:
        services.reopen_step(step_id=step("stop-writes").pk, by=sysadmin)
    assert err.value.message == (
        f"A step that depends on it has a run under way: Restore from backup "
        f"({status.label.lower()}). Cancel that run or let it finish first."
    )
    assert step("stop-writes").state == Step.State.DONE
    if status != StepRun.Status.RUNNING:
        runs.cancel_run(run_id=run.pk, by=sysadmin)
        services.reopen_step(step_id=step("stop-writes").pk, by=sysadmin)
        assert step("stop-writes").state == Step.State.PENDING


def test_approve_run_refused_while_a_requirement_is_unsettled(ready, sysadmin, ic, step, enqueued):
    run = runs.request_run(step_id=ready.pk, by=sysadmin)
    # reopen_step refuses this now; the approval must not rely on that alone (a
    # prerequisite reopened by an older release, or by hand in the admin).
    Step.objects.filter(pk=step("stop-writes").pk).update(state=Step.State.PENDING)
    with pytest.raises(services.ServiceError) as err:
        runs.approve_run(run_id=run.pk, by=ic)
    assert err.value.message == "First finish or skip: Stop all write operations."
    run.refresh_from_db()
    assert (run.status, run.approved_by, enqueued) == (StepRun.Status.AWAITING_APPROVAL, None, [])
    services.complete_step(step_id=step("stop-writes").pk, by=sysadmin)
    runs.approve_run(run_id=run.pk, by=ic)
    assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.QUEUED


class Boom(Exception):
    """Stands for a bug: not an executor's error, nothing the runner expects."""


def test_unexpected_executor_exception_fails_the_run_and_tells_the_incident(
    ready, sysadmin, ic, fake, enqueued, monkeypatch, settings, tmp_path, caplog
):
    from incidents import environment
    from incidents.redaction import Redactor

    settings.RIPCORD_RUN_DIR = tmp_path
    monkeypatch.setattr(
        environment,
        "resolve",
        lambda run, env: environment.RunEnvironment(
            env={"DB_PASSWORD": "hunter22-secret"},
            redact=Redactor({"DB_PASSWORD": "hunter22-secret"}),
        ),
    )

    def explode(execution, *, emit, should_stop):
        emit(b"about to break\n")
        raise Boom("lost hold of hunter22-secret")

    monkeypatch.setattr(fake, "run", explode)
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)  # returns: nothing goes back to Celery to redeliver

    run.refresh_from_db()
    assert run.status == StepRun.Status.FAILED and run.finished_at is not None
    assert run.summary == "internal error: Boom: lost hold of [secret:DB_PASSWORD]"
    assert run.log_tail == "about to break"  # the output before the failure was kept
    assert Step.objects.get(pk=ready.pk).state == Step.State.PENDING
    finished = TimelineEntry.objects.get(kind=TimelineEntry.Kind.RUN_FINISHED)
    assert "internal error: Boom" in finished.text and "hunter22" not in finished.text
    assert list(tmp_path.iterdir()) == []  # the workdir is gone
    logged = "\n".join(r.getMessage() for r in caplog.records if r.name == runner.__name__)
    assert "Traceback" in logged and "Boom" in logged and "hunter22" not in logged
    assert runs.request_run(step_id=ready.pk, by=sysadmin).attempt == 2  # a person may re-run


def test_unexpected_exception_before_the_executor_fails_the_run(
    ready, sysadmin, ic, fake, enqueued, monkeypatch
):
    def broken(needs, env, **options):
        raise KeyError("PGHOST")

    monkeypatch.setattr(runner, "check_needs", broken)
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.summary) == (
        StepRun.Status.FAILED,
        "internal error: KeyError: 'PGHOST'",
    )
    assert fake.executions == []


def test_failure_while_recording_the_outcome_still_ends_the_run(
    ready, sysadmin, ic, fake, enqueued, monkeypatch
):
    from incidents.execution import finish

    calls = []

    def record_results_once_broken(run_id, outcome):
        calls.append(run_id)
        if len(calls) == 1:
            raise Boom("check results could not be stored")
        return []

    monkeypatch.setattr(finish, "record_results", record_results_once_broken)
    run = queued_run(ready, sysadmin, ic)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert run.status == StepRun.Status.FAILED
    assert run.summary == "internal error: Boom: check results could not be stored"
    assert Step.objects.get(pk=ready.pk).state == Step.State.PENDING
