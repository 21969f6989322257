"""Celery tasks: ids in, one service call, no logic."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def take_snapshot_task(incident_id: int) -> None:
    """Fingerprint the incident's target (the ``incident_snapshot`` baseline).

    Safe to run twice: a snapshot once taken is kept (see ``take_snapshot``).
    """
    from validation.services import take_snapshot  # services may enqueue this task

    take_snapshot(incident_id)
