"""Celery tasks of communications: ids in, one service call. Both run on the control
queue (config/settings.py routes them), never behind a long step."""

from __future__ import annotations

from celery import shared_task

from comms.services import cadence_tick, deliver


@shared_task(name="comms.tasks.deliver_task", ignore_result=True)
def deliver_task(delivery_id: int) -> None:
    deliver(delivery_id)


@shared_task(name="comms.tasks.cadence_task", ignore_result=True)
def cadence_task() -> None:
    cadence_tick()
