"""Execute one queued run. Safe under redelivery: only the caller that flips QUEUED→RUNNING runs it."""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import time
from pathlib import Path

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from incidents.execution import environment
from incidents.execution.finish import finish_run, mark_started
from incidents.execution.logsink import LogSink
from incidents.execution.needs import check_needs
from incidents.execution.redaction import Redactor
from incidents.models import StepRun
from runbooks.executors import get_executor
from runbooks.executors.base import (
    Execution,
    ExecutorError,
    Outcome,
    StepCancelled,
    StepTimedOut,
    TransientExecutorError,
)
from validation.services import command_for_step

HEARTBEAT_SECONDS = 1.0


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


class Heartbeat:
    """The executor's ``should_stop``: renews the lease, and says stop when the run was cancelled
    or is no longer ours (the sweeper declared it interrupted). Also flushes pending output."""

    def __init__(self, run_id: int, sink: LogSink) -> None:
        self.run_id = run_id
        self.sink = sink
        self.last = 0.0
        self.stop = False

    def __call__(self) -> bool:
        self.sink.flush()
        now = time.monotonic()
        if self.stop or now - self.last < HEARTBEAT_SECONDS:
            return self.stop
        self.last = now
        renewed = StepRun.objects.filter(
            pk=self.run_id, status=StepRun.Status.RUNNING, cancel_requested_by__isnull=True
        ).update(heartbeat_at=timezone.now())
        self.stop = renewed == 0
        return self.stop


def execute_run(run_id: int) -> None:
    if not claim(run_id):
        return  # a duplicate delivery, a cancelled run, or one already finished
    run = StepRun.objects.select_related("step", "incident__runbook_version").get(pk=run_id)
    mark_started(run)
    workdir = Path(tempfile.mkdtemp(prefix=f"run-{run.pk}-", dir=settings.RIPCORD_RUN_DIR))
    sink: LogSink | None = None
    redact = Redactor({})  # until the secrets are read there are none to hide
    try:
        env = environment.resolve(run, dict(os.environ))
        redact = env.redact
        check_needs(run.step.needs, env.env)
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
        )
        outcome = get_executor(run.step.kind).run(
            execution, emit=sink.emit, should_stop=Heartbeat(run.pk, sink)
        )
        status = StepRun.Status.SUCCEEDED if outcome.succeeded else StepRun.Status.FAILED
    except StepCancelled:
        status, outcome = StepRun.Status.CANCELLED, Outcome(False, summary="cancelled")
    except (StepTimedOut, SoftTimeLimitExceeded):
        status = StepRun.Status.TIMED_OUT
        outcome = Outcome(False, summary=f"timed out after {run.step.timeout_seconds}s")
    except TransientExecutorError as exc:
        # Never retried automatically: even "transient" may have half-happened.
        status, outcome = StepRun.Status.FAILED, Outcome(False, summary=f"transient error: {exc}")
    except ExecutorError as exc:
        status, outcome = StepRun.Status.FAILED, Outcome(False, summary=str(exc))
    finally:
        if sink is not None:
            sink.close()
        shutil.rmtree(workdir, ignore_errors=True)
    # The outcome carries output too (rows, errors, a body excerpt): finish_run redacts it.
    finish_run(run.pk, status, outcome, redact=redact)
