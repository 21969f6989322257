"""Cancel against the worker's claim: whichever wins, the run ends as a person would expect.

The claim (QUEUED → RUNNING) does not take the incident lock that cancel_run holds,
so it can land between cancel's read and its write. The interleaving is forced,
not hoped for: the claim runs on a second connection, in a thread joined before
cancel writes, right after cancel has read the run as queued.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connections

from incidents.execution import runner
from incidents.execution.lease import LeaseKeeper
from incidents.models import StepRun, TimelineEntry
from incidents.services import runs
from tests.incidents.conftest import one_step_incident

pytestmark = pytest.mark.django_db(transaction=True)

SHELL_STEP = {"title": "Do it once", "kind": "shell", "command": {"argv": ["true"]}}


def claim_elsewhere(run_id: int) -> bool:
    """The worker's claim, from another connection (a Celery process), committed."""
    won: list[bool] = []

    def worker() -> None:
        try:
            won.append(runner.claim(run_id))
        finally:
            connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join(30)
    assert not thread.is_alive(), "the claim waited on cancel's transaction"
    return won == [True]


def test_cancel_after_the_claim_won_asks_the_worker_to_stop(enqueued, monkeypatch):
    incident, sysadmin = one_step_incident(SHELL_STEP, {})
    run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)
    read = runs._locked_run
    claims: list[bool] = []

    def read_then_worker_claims(run_id: int) -> StepRun:
        seen = read(run_id)
        assert seen.status == StepRun.Status.QUEUED  # what cancel decides on...
        claims.append(claim_elsewhere(run_id))  # ...is already stale when it writes
        return seen

    monkeypatch.setattr(runs, "_locked_run", read_then_worker_claims)
    returned = runs.cancel_run(run_id=run.pk, by=sysadmin)

    assert claims == [True]
    run.refresh_from_db()
    # Not overwritten to "cancelled" under a live worker: the worker is asked to stop.
    assert run.status == StepRun.Status.RUNNING and run.finished_at is None
    assert run.cancel_requested_by == sysadmin
    assert returned.status == StepRun.Status.RUNNING
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.RUN_CANCELLED)
    assert entry.text == "Cancel requested: Do it once"
    keeper = LeaseKeeper(run.pk)
    keeper.renew()  # what the worker's lease keeper sees next
    assert keeper.cancel_requested.is_set() and keeper.should_stop


def test_cancel_before_the_claim_wins_and_the_claim_then_fails(enqueued):
    incident, sysadmin = one_step_incident(SHELL_STEP, {})
    run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)
    returned = runs.cancel_run(run_id=run.pk, by=sysadmin)
    assert returned.status == StepRun.Status.CANCELLED
    assert not claim_elsewhere(run.pk)
    run.refresh_from_db()
    assert run.status == StepRun.Status.CANCELLED and run.finished_at is not None
    assert run.cancel_requested_by == sysadmin
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.RUN_CANCELLED)
    assert entry.text == "Cancel done: Do it once"
