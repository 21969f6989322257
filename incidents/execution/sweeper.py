"""Runs whose worker stopped renewing the lease are declared interrupted.

acks_late alone would leave a run whose worker died "running" forever (or, with a
short visibility timeout, run a destructive step twice). Marking it interrupted
tells the people on the incident, and only a person's re-run starts it again; the
sweeper first stops what the run left running, so that re-run never overlaps it.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from incidents.events import Change, publish
from incidents.execution.reaping import stop_leftovers
from incidents.models import StepRun, TimelineEntry
from incidents.services.locking import lock_incident
from incidents.services.timeline import record


def sweep_stale_runs(*, lease_seconds: int | None = None) -> list[int]:
    """Interrupt the runs whose lease expired; returns their ids."""
    lease = timedelta(seconds=lease_seconds or settings.RIPCORD_RUN_LEASE_SECONDS)
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
    return interrupted
