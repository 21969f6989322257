"""Runs the system lost track of: interrupted when their worker died, flagged when nobody takes them.

acks_late alone would leave a run whose worker died "running" forever (or, with a
short visibility timeout, run a destructive step twice). Marking it interrupted
tells the people on the incident, and only a person's re-run starts it again; the
sweeper first stops what the run left running, so that re-run never overlaps it.

A run queued on a queue no worker consumes would wait silently forever: the
sweeper says so on the incident, once per run.

Besides, every sweep sends again the tasks the broker did not take
(``delivery.resend_undelivered``), and removes the working folders of runs that
ended (``workdirs.remove_dead_workdirs``).

A lease is judged on time the database was there to renew it. When PostgreSQL
restarts, no worker could renew anything while it was down, so every running run's
heartbeat is as old as the outage: judged at once, they would all be interrupted
while their workers reconnect, and their real outcomes dropped. So no run is declared
lost until the database has been up for a full lease (``pg_postmaster_start_time``);
a live worker's lease keeper renews within a second of the database's return. (Not
covered: a failover to a standby that was already running, whose start time is old.)
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from datetime import timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models.functions import Coalesce
from django.utils import timezone

from incidents.broadcast import publish
from incidents.events import Change
from incidents.execution.reaping import stop_leftovers
from incidents.execution.workdirs import remove_dead_workdirs
from incidents.metrics import SWEEPER_ACTIONS
from incidents.models import StepRun, TimelineEntry
from incidents.services.delivery import resend_undelivered
from incidents.services.locking import lock_incident
from incidents.services.timeline import record

logger = logging.getLogger(__name__)


def database_uptime() -> float | None:
    """Seconds since the database server started, where it says so (PostgreSQL)."""
    if connection.vendor != "postgresql":
        return None  # SQLite: the embedded mode's file, in the same process as its worker
    with connection.cursor() as cursor:
        cursor.execute("SELECT EXTRACT(EPOCH FROM now() - pg_postmaster_start_time())")
        row = cursor.fetchone()
    return float(row[0]) if row else None


def sweep_stale_runs(*, lease_seconds: int | None = None) -> list[int]:
    """Interrupt the runs whose lease expired (returns their ids); send what the broker did
    not take, flag stuck queued runs, remove ended runs' folders."""
    interrupted = interrupt_lost_runs(lease_seconds=lease_seconds)
    resent = resend_undelivered()
    SWEEPER_ACTIONS.labels("resent").inc(len(resent))
    warn_waiting_runs(skip=set(resent))
    SWEEPER_ACTIONS.labels("cleaned").inc(len(remove_dead_workdirs()))
    return interrupted


def interrupt_lost_runs(*, lease_seconds: int | None = None) -> list[int]:
    """Interrupt the running runs whose lease expired; returns their ids."""
    lease = timedelta(seconds=lease_seconds or settings.RIPCORD_RUN_LEASE_SECONDS)
    uptime = database_uptime()
    if uptime is not None and uptime < lease.total_seconds():
        logger.info(
            "the database started %.1fs ago: no lease is judged before it was up one", uptime
        )
        return []
    cutoff = timezone.now() - lease
    stale = list(
        StepRun.objects.filter(status=StepRun.Status.RUNNING, heartbeat_at__lt=cutoff).values_list(
            "pk", "incident_id"
        )
    )
    interrupted = []
    for run_id, incident_id in stale:
        # One transaction for the interruption, the stopping and its record: if this process
        # dies half-way, the run is still RUNNING and the next sweep does it all again
        # (abandon is idempotent). The incident stays locked while leftovers are stopped,
        # usually milliseconds, at most the executors' grace before they KILL.
        with transaction.atomic():
            incident = lock_incident(incident_id, require_active=False)
            if not StepRun.objects.filter(
                pk=run_id, status=StepRun.Status.RUNNING, heartbeat_at__lt=cutoff
            ).update(
                status=StepRun.Status.INTERRUPTED,
                finished_at=timezone.now(),
                summary="worker lost: no heartbeat within the lease",
            ):
                continue  # it renewed or finished meanwhile
            run = StepRun.objects.select_related("step").get(pk=run_id)
            leftovers = stop_leftovers(run)
            change = Change(incident.pk, steps={run.step_id})
            record(
                incident,
                TimelineEntry.Kind.RUN_INTERRUPTED,
                f"Run interrupted: {run.step.title} — its worker ({run.worker}) stopped "
                f"answering. {leftovers} Check the target, then re-run if it is safe.",
                actor=None,
                change=change,
                step=run.step,
                data={"run": run.pk, "leftovers": leftovers},
            )
            publish(change)
            interrupted.append(run_id)
            SWEEPER_ACTIONS.labels("interrupted").inc()
    return interrupted


def warn_waiting_runs(*, warn_seconds: int | None = None, skip: Collection[int] = ()) -> list[int]:
    """One timeline entry per run queued for longer than RIPCORD_QUEUED_WARN_SECONDS.

    Not for a run whose task the broker did not take (its entry said so already) nor one
    in ``skip`` (just sent again). Returns the ids of the runs flagged by this call.
    """
    wait = timedelta(seconds=warn_seconds or settings.RIPCORD_QUEUED_WARN_SECONDS)
    waiting = list(
        StepRun.objects.filter(status=StepRun.Status.QUEUED, undelivered_at__isnull=True)
        .exclude(pk__in=skip)
        # Queued since the approval, for a gated run; since the request otherwise.
        .annotate(queued_at=Coalesce("approved_at", "requested_at"))
        .filter(queued_at__lt=timezone.now() - wait)
        .values_list("pk", "incident_id")
    )
    # Runs flagged by an earlier sweep are left out before any lock is taken: a stuck run
    # would otherwise lock (and bump the revision of) its incident on every sweep.
    told = set(
        TimelineEntry.objects.filter(
            kind=TimelineEntry.Kind.RUN_WAITING, incident_id__in={i for _, i in waiting}
        )
        .exclude(data__has_key="undelivered")
        .values_list("data__run", flat=True)
    )
    flagged = []
    for run_id, incident_id in waiting:
        if run_id in told:
            continue
        with transaction.atomic():
            # Under the incident lock, so two sweeps (or a sweep and a claim) cannot both
            # decide this run still needs its one entry.
            incident = lock_incident(incident_id, require_active=False)
            run = (
                StepRun.objects.select_related("step")
                .filter(pk=run_id, status=StepRun.Status.QUEUED)
                .first()
            )
            already = (
                TimelineEntry.objects.filter(
                    incident=incident, kind=TimelineEntry.Kind.RUN_WAITING, data__run=run_id
                )
                .exclude(data__has_key="undelivered")
                .exists()
            )
            if run is None or already:
                continue
            change = Change(incident.pk, steps={run.step_id})
            record(
                incident,
                TimelineEntry.Kind.RUN_WAITING,
                f"Run still queued: {run.step.title} has waited over {int(wait.total_seconds())}s for a "
                f"worker of queue '{run.queue}'. No worker may be consuming '{run.queue}' "
                f"(start one with -Q {run.queue}, or add it to RIPCORD_WORKER_QUEUES), "
                "or all of them are busy.",
                actor=None,
                change=change,
                step=run.step,
                data={"run": run.pk, "queue": run.queue},
            )
            publish(change)
            flagged.append(run_id)
            SWEEPER_ACTIONS.labels("flagged_waiting").inc()
    return flagged
