"""Housekeeping has a queue of its own, so it never waits behind a step."""

from __future__ import annotations

import pytest
from django.conf import settings

from config.celery import app

HOUSEKEEPING = (
    "incidents.tasks.sweep_stale_runs_task",
    "incidents.tasks.refresh_clocks_task",
    "comms.tasks.cadence_task",  # automatic items and overdue audiences (comms)
    "incidents.tasks.remind_follow_ups_task",  # overdue follow-ups, by email (finish11)
    "incidents.tasks.open_due_drills_task",  # scheduled drills open at their time (finish11)
    "triggers.tasks.evaluate_triggers_task",  # rules Ripcord evaluates (rules9)
    "incidents.tasks.measure_criteria_task",  # metric checks of success criteria (criteria9)
)


def queue_of(task: str) -> str:
    route = app.amqp.router.route({}, task)
    return str(route["queue"].name)


def test_celery_routes_every_periodic_task_to_the_control_queue():
    periodic = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert periodic == set(HOUSEKEEPING)
    assert {task: queue_of(task) for task in periodic} == dict.fromkeys(periodic, "control")


@pytest.mark.parametrize(
    "task",
    [
        "incidents.tasks.execute_step_run_task",
        "incidents.tasks.run_preflight_task",
        "incidents.tasks.take_snapshot_task",
    ],
)
def test_celery_keeps_other_tasks_off_the_control_queue(task):
    assert queue_of(task) == "default"


def test_deliveries_run_on_the_control_queue():
    assert queue_of("comms.tasks.deliver_task") == "control"


def test_celery_periodic_tasks_expire_after_one_period():
    for entry in settings.CELERY_BEAT_SCHEDULE.values():
        assert entry["options"]["expires"] == entry["schedule"]


def test_celery_sweeps_at_a_third_of_the_lease():
    sweep = settings.CELERY_BEAT_SCHEDULE["sweep-stale-runs"]["schedule"]
    assert sweep == settings.RIPCORD_RUN_LEASE_SECONDS / 3 == settings.RIPCORD_SWEEP_SECONDS
