"""Handing queued runs to the workers' broker, and again when it was away.

A run is queued in the database first; its task is sent once that commits
(``dispatch.send_on_commit``). If the broker cannot take it (Redis restarting), the
request that queued it still succeeds: the run is marked undelivered
(``StepRun.undelivered_at``) and its incident told, as a "Run waiting for a worker"
timeline entry, that it will start once the queue answers again. The sweeper calls
``resend_undelivered`` on every sweep; a run is sent first and unmarked after, so a
sweeper that dies in between sends it again. A run is never executed twice whatever
delivers its task twice: a worker's claim is a compare-and-set QUEUED -> RUNNING.
"""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone

from incidents import dispatch
from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import StepRun, TimelineEntry
from incidents.services.locking import lock_incident
from incidents.services.timeline import record

logger = logging.getLogger(__name__)

# What a run does besides its step's own timeout: the needs checks (a few seconds each),
# stopping what the executor started after a cancel or timeout (SQL waits 10 s for its
# cancel, docker 5 s for a container), recording the end.
RUN_SOFT_GRACE_SECONDS = 60
# Between the soft limit (SoftTimeLimitExceeded: the run is stopped, cleaned up and
# recorded as timed out) and the hard one, which kills the pool process without cleanup.
RUN_HARD_GRACE_SECONDS = 60


def run_time_limits(timeout_seconds: int) -> tuple[int, int]:
    """Celery's (soft, hard) time limits for a run of a step with this timeout.

    Per call, from the step: the global task limits (3 h by default) would cut short a
    step allowed up to 24 h, or let a 2-minute step hang for hours.
    """
    soft = timeout_seconds + RUN_SOFT_GRACE_SECONDS
    return soft, soft + RUN_HARD_GRACE_SECONDS


def _options(run: StepRun) -> dict[str, object]:
    soft, hard = run_time_limits(run.step.timeout_seconds)
    return {"queue": run.queue, "soft_time_limit": soft, "time_limit": hard}


def enqueue(run: StepRun) -> None:
    """Hand a queued run to a worker of its queue, once the row is committed."""
    run_id = run.pk

    def undelivered(error: Exception) -> None:
        record_undelivered(run_id)

    dispatch.send_on_commit(
        dispatch.EXECUTE_STEP_RUN, run_id, on_failure=undelivered, **_options(run)
    )


def record_undelivered(run_id: int) -> None:
    """The broker did not take the run's task: mark it to be sent again, and say so."""
    with transaction.atomic():
        run = StepRun.objects.select_related("step").filter(pk=run_id).first()
        if run is None:
            return
        incident = lock_incident(run.incident_id, require_active=False)
        if not StepRun.objects.filter(
            pk=run_id, status=StepRun.Status.QUEUED, undelivered_at__isnull=True
        ).update(undelivered_at=timezone.now()):
            return  # cancelled meanwhile, or already marked
        change = Change(incident.pk, steps={run.step_id})
        record(
            incident,
            TimelineEntry.Kind.RUN_WAITING,
            f"Run waiting for a worker: {run.step.title} could not be handed to the task "
            "queue (its broker did not answer). It will be sent, once, as soon as the queue "
            "answers again.",
            actor=None,
            change=change,
            step=run.step,
            data={"run": run.pk, "queue": run.queue, "undelivered": True},
        )
        publish(change)


def resend_undelivered() -> list[int]:
    """Send the tasks of queued runs the broker did not take; returns the runs sent.

    Stops at the first send that fails (the broker is still away; the next sweep tries).
    """
    waiting = (
        StepRun.objects.filter(status=StepRun.Status.QUEUED, undelivered_at__isnull=False)
        .select_related("step")
        .order_by("undelivered_at")
    )
    sent = []
    for run in waiting:
        try:
            dispatch.send(dispatch.EXECUTE_STEP_RUN, run.pk, **_options(run))
        except Exception as exc:
            logger.warning("run %s: its task still cannot be sent (%s)", run.pk, exc)
            break
        # Unmarked after the send, only if nobody re-marked it meanwhile.
        StepRun.objects.filter(pk=run.pk, undelivered_at=run.undelivered_at).update(
            undelivered_at=None
        )
        logger.info("run %s: its task was sent after the broker came back", run.pk)
        sent.append(run.pk)
    return sent
