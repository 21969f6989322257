"""Celery tasks of the triggers app (the control queue: housekeeping's worker)."""

from __future__ import annotations

from celery import shared_task

from triggers import evaluation

EVALUATE_TRIGGERS = "triggers.tasks.evaluate_triggers_task"


@shared_task(name=EVALUATE_TRIGGERS, ignore_result=True)
def evaluate_triggers_task() -> int:
    """Evaluate every rule against its environment's Prometheus (beat, every interval)."""
    return len(evaluation.evaluate_all())
