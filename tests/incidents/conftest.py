"""Fixtures for the run-lifecycle tests: a runnable step, its queued run, and orphaned processes."""

from __future__ import annotations

import pytest

from incidents import services
from incidents.models import StepRun
from incidents.services import runs
from tests.marked_processes import Orphans


@pytest.fixture
def enqueued(monkeypatch):
    """Runs handed to Celery (no broker in these tests)."""
    sent = []
    from incidents import tasks

    monkeypatch.setattr(
        tasks.execute_step_run_task,
        "apply_async",
        lambda args, queue: sent.append((args[0], queue)),
    )
    return sent


@pytest.fixture
def restore(incident, step, backend, sysadmin, enqueued):
    """The restore step (shell, approved by the IC), its requirements settled."""
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    services.complete_step(step_id=step("stop-writes").pk, by=sysadmin)
    return step("restore")


@pytest.fixture
def queued_restore(restore, sysadmin, ic) -> StepRun:
    """A run of the restore step, requested and approved: queued for a worker."""
    run = runs.request_run(step_id=restore.pk, by=sysadmin)
    runs.approve_run(run_id=run.pk, by=ic)
    return StepRun.objects.select_related("step").get(pk=run.pk)


@pytest.fixture
def orphans():
    """Marked processes as a killed worker leaves them; whatever is left is killed after."""
    spawned = Orphans()
    yield spawned
    spawned.kill_all()
