"""Helpers for incident tests that run scripted steps: tasks recorded, not sent; one-step incidents;
a runnable restore step and its queued run; processes a killed worker leaves behind."""

from __future__ import annotations

from typing import Any

import pytest
from celery.app.task import Task
from django.contrib.auth.models import User

from common.capabilities import COMMANDERS, RESPONDERS
from incidents import services
from incidents.models import Incident, StepRun
from incidents.services import runs
from tests.factories import make_user, make_version
from tests.marked_processes import Orphans


class Enqueued(list[tuple[int, str]]):
    """``(run id, queue)`` of each run handed to Celery, in order.

    ``options`` holds each of those calls' other options (time limits...); ``others``
    names the other tasks sent meanwhile (preflight, snapshot).
    """

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict[str, Any]] = []
        self.others: list[str] = []


@pytest.fixture
def enqueued(monkeypatch) -> Enqueued:
    """Every task sent, recorded instead of reaching a broker (runs are executed by hand)."""
    from incidents.tasks import execute_step_run_task

    sent = Enqueued()

    def apply_async(task, args=(), kwargs=None, **options):
        if task.name != execute_step_run_task.name:
            sent.others.append(task.name)
            return
        sent.append((args[0], options.pop("queue")))
        sent.options.append(options)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return sent


def one_step_incident(step: dict[str, Any], variables: dict[str, str]) -> tuple[Incident, User]:
    """An incident of a one-step runbook (environment "lab"), and the responder who owns the step."""
    ic = make_user("ic", COMMANDERS)
    sysadmin = make_user("sysadmin", RESPONDERS)
    spec = {
        "id": "lease",
        "title": "One scripted step",
        "roles": [{"id": "system_administrator", "title": "System administrator"}],
        "environments": [{"id": "lab", "title": "Lab", "variables": variables}],
        "phases": [
            {
                "id": "only",
                "title": "Only",
                "starts_at_minutes": 0,
                "ends_at_minutes": 30,
                "steps": [{"id": "act", "owner": "system_administrator", **step}],
            }
        ],
    }
    incident = services.open_incident(
        version=make_version(spec),
        environment="lab",
        title="Lease",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="system_administrator", user_id=sysadmin.pk, by=ic
    )
    return incident, sysadmin


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
