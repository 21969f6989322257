"""Execute one queued run. Safe under redelivery: only the caller that flips QUEUED→RUNNING runs it.

Once claimed, a run always ends in a recorded state: an executor's own errors
become the step's failure, and anything else (a bug, a template error while
publishing) becomes "internal error: …" rather than a run left RUNNING until the
sweeper calls its worker lost. Nothing is raised back into Celery: the task is
acks_late, and a redelivery must never be how a step re-runs.

The outcome is the process's outcome, whatever fails around it. A live push that
fails (Redis away) is the log sink's to retry, never the step's end; while
PostgreSQL is away the sink holds the output, and the claim, the last output and
the outcome are retried (``incidents.execution.durable``) for up to
WRITE_RETRY_SECONDS, so a run whose process exited during the outage is recorded with
its exit code, its last lines or a person's cancel once the database is back.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import time
import traceback
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from incidents import environment
from incidents.checks.services import command_for_step
from incidents.execution import durable
from incidents.execution.finish import NO_SECRETS, finish_run, mark_started
from incidents.execution.lease import LeaseKeeper
from incidents.execution.logsink import LogSink
from incidents.execution.needs import check_needs
from incidents.execution.reaping import instance_id
from incidents.execution.workdirs import make_workdir, remove_dead_workdirs
from incidents.models import StepRun
from incidents.redaction import Redactor
from incidents.services.preflight import preflight_before_step
from runbooks.executors import get_executor
from runbooks.executors.base import (
    Execution,
    ExecutorError,
    Outcome,
    StepCancelled,
    StepTimedOut,
    TransientExecutorError,
)

logger = logging.getLogger(__name__)


def claim(run_id: int) -> bool:
    now = timezone.now()
    return (
        StepRun.objects.filter(pk=run_id, status=StepRun.Status.QUEUED).update(
            status=StepRun.Status.RUNNING,
            started_at=now,
            heartbeat_at=now,
            worker=f"{socket.gethostname()}:{os.getpid()}",
        )
        == 1
    )


class StopCheck:
    """The executor's ``should_stop``, called on the worker's thread: flushes pending output
    there (the sink writes with this thread's connection) and reports what the lease keeper
    saw: a person cancelled the run, or it is no longer ours (the sweeper interrupted it)."""

    def __init__(self, keeper: LeaseKeeper, sink: LogSink) -> None:
        self.keeper = keeper
        self.sink = sink

    def __call__(self) -> bool:
        self.sink.flush()
        return self.keeper.should_stop


class _Attempt:
    """One claimed run's execution; ``redact`` knows the run's secrets once they are resolved."""

    def __init__(self, run_id: int, keeper: LeaseKeeper) -> None:
        self.run_id = run_id
        self.keeper = keeper
        self.redact: Redactor = NO_SECRETS  # until the secrets are read there are none to hide
        self.timeout_seconds: int | None = None
        # Until when the last output and the outcome are retried while the database is away.
        self.deadline = time.monotonic() + durable.WRITE_RETRY_SECONDS

    def run(self) -> tuple[StepRun.Status, Outcome]:
        workdir: Path | None = None
        sink: LogSink | None = None
        try:
            run = StepRun.objects.select_related("step", "incident__runbook_version").get(
                pk=self.run_id
            )
            self.timeout_seconds = run.step.timeout_seconds
            mark_started(run)
            workdir = make_workdir(run.pk)
            env = environment.resolve(run, dict(os.environ))
            self.redact = env.redact
            check_needs(run.step.needs, env.env, kind=run.step.kind)
            preflight_before_step(run, env.env, env.redact)
            sink = LogSink(run, env.redact)
            command = run.step.command
            if run.step.kind == "validation":
                # Validation hook: the checks are in the runbook version, not on the step row.
                command = command_for_step(run)
            execution = Execution(
                run_id=run.pk,
                command=command,
                env=env.env,
                workdir=workdir,
                files=run.incident.runbook_version.files,
                timeout_seconds=run.step.timeout_seconds,
                labels={"ripcord.step_run": str(run.pk), "ripcord.incident": str(run.incident_id)},
                instance=instance_id(),  # marks what the step starts, for reaping.py
            )
            outcome = get_executor(run.step.kind).run(
                execution, emit=sink.emit, should_stop=StopCheck(self.keeper, sink)
            )
            status = StepRun.Status.SUCCEEDED if outcome.succeeded else StepRun.Status.FAILED
        except StepCancelled:
            status, outcome = self._stopped()
        except (StepTimedOut, SoftTimeLimitExceeded):
            status = StepRun.Status.TIMED_OUT
            outcome = Outcome(False, summary=f"timed out after {self.timeout_seconds}s")
        except TransientExecutorError as exc:
            # Never retried automatically: even "transient" may have half-happened.
            status = StepRun.Status.FAILED
            outcome = Outcome(False, summary=f"transient error: {exc}")
        except ExecutorError as exc:
            status, outcome = StepRun.Status.FAILED, Outcome(False, summary=str(exc))
        except Exception as exc:
            status, outcome = StepRun.Status.FAILED, self.internal_error(exc, "while running")
        finally:
            self._clean_up(sink, workdir)
        return status, outcome

    def _stopped(self) -> tuple[StepRun.Status, Outcome]:
        """How a run the executor stopped on ``should_stop`` ended: cancelled, unless nobody
        asked and the lease keeper stopped (the lease would have lapsed under the step)."""
        if self.keeper.failure is not None and not self.keeper.cancel_requested.is_set():
            why = f"internal error: the run's lease could not be kept ({self.keeper.failure})"
            return StepRun.Status.FAILED, Outcome(False, summary=why)
        return StepRun.Status.CANCELLED, Outcome(False, summary="cancelled")

    def internal_error(self, exc: Exception, when: str) -> Outcome:
        """Log the traceback (redacted: it may quote a secret) and say briefly what broke."""
        logger.error(
            "run %s: internal error %s\n%s",
            self.run_id,
            when,
            self.redact.text(traceback.format_exc()),
        )
        return Outcome(False, summary=f"internal error: {type(exc).__name__}: {exc}")

    def _clean_up(self, sink: LogSink | None, workdir: Path | None) -> None:
        self.deadline = time.monotonic() + durable.WRITE_RETRY_SECONDS
        try:
            if sink is not None:
                sink.close(deadline=self.deadline)
        except Exception:
            # The output's last bytes are lost, but the run must still be recorded as ended.
            logger.error(
                "run %s: could not store the last output\n%s",
                self.run_id,
                self.redact.text(traceback.format_exc()),
            )
        finally:
            if workdir is not None:
                shutil.rmtree(workdir, ignore_errors=True)

    def record(self, status: StepRun.Status, outcome: Outcome) -> None:
        """Store how the run ended, retried while the database is away.

        If it cannot be stored for another reason, the failure to store it is stored
        instead. If the database stays away past the deadline (or the sweeper took the
        run meanwhile), the outcome is logged here and the sweeper's word stands.
        """
        try:
            self._finish(status, outcome)
        except durable.UNRECORDABLE:
            logger.error(
                "run %s: could not record its end (%s, exit code %s, %r): the database stayed "
                "away, or the sweeper took the run meanwhile; the sweeper's word stands\n%s",
                self.run_id,
                status,
                outcome.exit_code,
                self.redact.text(outcome.summary),
                self.redact.text(traceback.format_exc()),
            )
        except Exception as exc:
            failure = self.internal_error(exc, "while recording the outcome")
            try:
                self._finish(StepRun.Status.FAILED, failure)
            except Exception:
                logger.error(
                    "run %s: could not record its end either; the sweeper will interrupt it\n%s",
                    self.run_id,
                    self.redact.text(traceback.format_exc()),
                )

    def _finish(self, status: StepRun.Status, outcome: Outcome) -> None:
        # A compare-and-set on RUNNING: a retry after a commit whose answer was lost is a no-op.
        durable.keep_trying(
            lambda: finish_run(self.run_id, status, outcome, redact=self.redact),
            what=f"record the end of run {self.run_id}",
            deadline=self.deadline,
            give_up=self.keeper.lost.is_set,  # the sweeper took it: its word stands
        )


def execute_run(run_id: int) -> None:
    """Run a queued run to its end and record how it ended; returns quietly if not ours."""
    claimed = durable.keep_trying(
        lambda: claim(run_id),
        what=f"claim run {run_id}",
        deadline=time.monotonic() + durable.WRITE_RETRY_SECONDS,
    )
    if not claimed:
        return  # a duplicate delivery, a cancelled run, or one already finished
    # Renewed from here on, whatever the executor does, until the end is recorded.
    keeper = LeaseKeeper(run_id).start()
    try:
        attempt = _Attempt(run_id, keeper)
        status, outcome = attempt.run()
        attempt.record(status, outcome)
    finally:
        keeper.stop()
    try:
        remove_dead_workdirs()  # what killed workers left on this host
    except Exception:
        logger.exception("could not remove the working folders of ended runs")
