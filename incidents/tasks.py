"""Celery tasks: ids in, one service call, no logic."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def execute_step_run_task(run_id: int) -> None:
    from incidents.execution.runner import execute_run

    execute_run(run_id)


@shared_task(acks_late=True, ignore_result=True)
def run_preflight_task(incident_id: int) -> None:
    from incidents.preflight.service import run_preflight

    run_preflight(incident_id)


@shared_task(ignore_result=True)
def refresh_clocks_task() -> None:

    from incidents.services.phases import refresh_clocks

    refresh_clocks()


@shared_task(ignore_result=True)
def sweep_stale_runs_task() -> None:

    from incidents.execution.sweeper import sweep_stale_runs

    sweep_stale_runs()
