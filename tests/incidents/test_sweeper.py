"""The sweeper: interrupted runs have their leftovers stopped; runs nobody takes are flagged.

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


def waiting_entries() -> list[TimelineEntry]:
    return list(TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RUN_WAITING))


def test_sweeper_flags_a_run_queued_too_long_once_naming_its_queue(queued_restore, settings):
    settings.RIPCORD_QUEUED_WARN_SECONDS = 60
    run = queued_restore
    StepRun.objects.filter(pk=run.pk).update(
        queue="database", approved_at=timezone.now() - timedelta(seconds=61)
    )

    assert sweeper.sweep_stale_runs() == []
    assert sweeper.warn_waiting_runs() == []  # told once, not on every sweep

    [entry] = waiting_entries()
    assert entry.incident_id == run.incident_id and entry.step_id == run.step_id
    assert "has waited over 60s for a worker of queue 'database'" in entry.text
    assert "No worker may be consuming 'database'" in entry.text
    assert entry.data == {"run": run.pk, "queue": "database"}


def test_sweeper_counts_a_gated_run_from_its_approval(queued_restore):
    run = queued_restore
    # Requested long ago, approved just now: it has not waited for a worker yet.
    StepRun.objects.filter(pk=run.pk).update(requested_at=timezone.now() - timedelta(hours=1))
    assert sweeper.warn_waiting_runs(warn_seconds=60) == []
    StepRun.objects.filter(pk=run.pk).update(approved_at=timezone.now() - timedelta(seconds=90))
    assert sweeper.warn_waiting_runs(warn_seconds=60) == [run.pk]


def test_sweeper_does_not_flag_runs_that_started_or_are_young(queued_restore):
    run = queued_restore
    assert sweeper.warn_waiting_runs(warn_seconds=60) == []  # queued just now
    StepRun.objects.filter(pk=run.pk).update(approved_at=timezone.now() - timedelta(seconds=90))
    assert runner.claim(run.pk)  # a worker took it after all
    assert sweeper.warn_waiting_runs(warn_seconds=60) == []
    assert waiting_entries() == []
