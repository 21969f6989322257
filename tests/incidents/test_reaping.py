"""A worker starting up stops the leftovers of runs no live worker on this host is running."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

import pytest

from incidents.execution import runner
from incidents.execution.reaping import instance_id, reap_at_start
from incidents.models import StepRun, TimelineEntry
from tests.marked_processes import Orphans

pytestmark = pytest.mark.django_db

HERE = socket.gethostname()
NEVER_A_PID = int(Path("/proc/sys/kernel/pid_max").read_text()) + 1


@pytest.fixture
def run(queued_restore):
    run = queued_restore
    assert runner.claim(run.pk)  # claimed by this (live) process, on this host
    return StepRun.objects.get(pk=run.pk)


def left_running(orphans: Orphans, run_id: int):
    return orphans.start(
        ["bash", "-c", "sleep 300 & wait"], run_id=run_id, instance=instance_id(), members=2
    )


def test_reap_stops_the_processes_of_an_interrupted_run_and_tells_the_incident(run, orphans):
    StepRun.objects.filter(pk=run.pk).update(status=StepRun.Status.INTERRUPTED)
    script = left_running(orphans, run.pk)

    assert reap_at_start() == [run.pk]

    assert script.poll() == -signal.SIGTERM
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.LEFTOVERS_STOPPED)
    assert entry.text == (
        f"Leftovers of {run.step.title} (attempt 1, interrupted): A worker starting on "
        f"{HERE} stopped 2 process(es) it left running (bash, sleep)."
    )
    assert entry.data == {"run": run.pk}


def test_reap_stops_a_running_run_whose_worker_here_is_dead(run, orphans):
    StepRun.objects.filter(pk=run.pk).update(worker=f"{HERE}:{NEVER_A_PID}")
    script = left_running(orphans, run.pk)
    assert reap_at_start() == [run.pk]
    assert script.poll() == -signal.SIGTERM


def test_reap_spares_a_run_a_live_worker_here_is_running(run, orphans):
    assert run.worker == f"{HERE}:{os.getpid()}"
    script = left_running(orphans, run.pk)
    assert reap_at_start() == []
    assert script.poll() is None


def test_reap_leaves_a_run_running_on_another_host_to_the_sweeper(run, orphans):
    StepRun.objects.filter(pk=run.pk).update(worker="db-host.example:4242")
    script = left_running(orphans, run.pk)
    assert reap_at_start() == []
    assert script.poll() is None


def test_reap_stops_processes_of_a_run_this_installation_does_not_know(orphans):
    script = left_running(orphans, 987654321)
    assert reap_at_start() == [987654321]
    assert script.poll() == -signal.SIGTERM
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.LEFTOVERS_STOPPED).exists()


def test_reap_with_nothing_marked_does_nothing(run):
    assert reap_at_start() == []
