"""The sweeper: an interrupted run has what it left running stopped, and the incident told.

The leftovers are real processes carrying the run's marks, as a killed worker leaves them.
"""

from __future__ import annotations

import signal
from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.execution import runner, sweeper
from incidents.execution.reaping import instance_id
from incidents.models import StepRun, TimelineEntry

pytestmark = pytest.mark.django_db


def lose_worker(run: StepRun, *, worker: str | None = None) -> None:
    """The run was claimed, then its worker stopped renewing the lease."""
    assert runner.claim(run.pk)
    StepRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(seconds=120))
    if worker is not None:
        StepRun.objects.filter(pk=run.pk).update(worker=worker)


def interruption(run: StepRun) -> TimelineEntry:
    return TimelineEntry.objects.get(kind=TimelineEntry.Kind.RUN_INTERRUPTED, data__run=run.pk)


def test_sweeper_stops_what_the_interrupted_run_left_running(queued_restore, orphans):
    run = queued_restore
    lose_worker(run)  # claimed here, by this process: the worker's host is this host
    script = orphans.start(
        ["bash", "-c", "sleep 300 & wait"], run_id=run.pk, instance=instance_id(), members=2
    )

    assert sweeper.sweep_stale_runs(lease_seconds=30) == [run.pk]

    # Stopped before the interruption was recorded: a re-run cannot overlap it.
    assert script.poll() == -signal.SIGTERM
    entry = interruption(run)
    assert "Stopped 2 process(es) it left running (bash, sleep)." in entry.text
    assert entry.data["leftovers"].startswith("Stopped 2 process(es)")
    assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.INTERRUPTED


def test_sweeper_says_when_nothing_was_left_running(queued_restore):
    run = queued_restore
    lose_worker(run)
    sweeper.sweep_stale_runs(lease_seconds=30)
    assert "Nothing of it was left running on" in interruption(run).text


def test_sweeper_warns_a_process_may_live_on_when_the_worker_was_elsewhere(queued_restore):
    run = queued_restore
    lose_worker(run, worker="db-host.example:4242")
    sweeper.sweep_stale_runs(lease_seconds=30)
    text = interruption(run).text
    assert "its worker (db-host.example:4242) stopped answering" in text
    assert "It ran on db-host.example, where a process of it may still be alive." in text


def test_sweeper_leaves_other_installations_processes_alone(queued_restore, orphans):
    run = queued_restore
    lose_worker(run)
    neighbour = orphans.start(["sleep", "300"], run_id=run.pk, instance=f"{instance_id()}-other")
    sweeper.sweep_stale_runs(lease_seconds=30)
    assert neighbour.poll() is None
    assert "Nothing of it was left running" in interruption(run).text
