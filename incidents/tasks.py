"""Celery tasks: ids in, one service call, no logic.

Services enqueue these by name through ``incidents.dispatch``, whose constants
name them; this module is the only one that imports both.
"""

from __future__ import annotations

from celery import shared_task

from incidents import dispatch
from incidents.checks.services import take_snapshot
from incidents.execution.runner import execute_run
from incidents.execution.sweeper import sweep_stale_runs
from incidents.services.follow_up_reminders import remind_overdue
from incidents.services.measuring import measure_all
from incidents.services.phases import refresh_clocks
from incidents.services.preflight import run_preflight
from incidents.services.scheduled_drills import open_due_drills


@shared_task(
    name=dispatch.EXECUTE_STEP_RUN, acks_late=True, reject_on_worker_lost=True, ignore_result=True
)
def execute_step_run_task(run_id: int) -> None:
    execute_run(run_id)


@shared_task(name=dispatch.RUN_PREFLIGHT, acks_late=True, ignore_result=True)
def run_preflight_task(incident_id: int) -> None:
    run_preflight(incident_id)


@shared_task(name=dispatch.TAKE_SNAPSHOT, acks_late=True, ignore_result=True)
def take_snapshot_task(incident_id: int) -> None:
    """Fingerprint the incident's target (the ``incident_snapshot`` baseline).

    Safe to run twice: a snapshot once taken is kept (see ``take_snapshot``).
    """
    take_snapshot(incident_id)


@shared_task(name="incidents.tasks.refresh_clocks_task", ignore_result=True)
def refresh_clocks_task() -> None:
    refresh_clocks()


@shared_task(name="incidents.tasks.sweep_stale_runs_task", ignore_result=True)
def sweep_stale_runs_task() -> None:
    sweep_stale_runs()


@shared_task(name="incidents.tasks.remind_follow_ups_task", ignore_result=True)
def remind_follow_ups_task() -> None:
    remind_overdue()


@shared_task(name="incidents.tasks.open_due_drills_task", ignore_result=True)
def open_due_drills_task() -> None:
    open_due_drills()


@shared_task(name="incidents.tasks.measure_criteria_task", ignore_result=True)
def measure_criteria_task() -> int:
    """Measure the metric checks of incidents in their last phase (beat, every interval)."""
    return len(measure_all())
