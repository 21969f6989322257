"""The lease of a running run: renewed by its own thread, read by the executor's should_stop.

The sweeper and the keeper meet in PostgreSQL, so the tests that let time pass
commit their data (transactional) and run the runner in a thread of its own, as a
worker would, while the test plays beat and calls the real sweeper.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import InterfaceError, connections
from django.utils import timezone

from incidents.execution import runner, sweeper
from incidents.execution.lease import LeaseKeeper
from incidents.models import Incident, StepRun, TimelineEntry
from incidents.services import runs
from runbooks.executors.base import Outcome, StepCancelled
from tests.held_http import HeldServer, held_server
from tests.incidents.conftest import one_step_incident
from tests.integration.processes import wait_for

LEASE = 3
committed = pytest.mark.django_db(transaction=True)


@pytest.fixture
def slow_server() -> Iterator[HeldServer]:
    with held_server() as server:
        yield server


class WorkerThread(threading.Thread):
    """execute_run on a thread with its own database connection, like a Celery pool process."""

    def __init__(self, run_id: int) -> None:
        super().__init__(name=f"worker-{run_id}", daemon=True)
        self.run_id = run_id

    def run(self) -> None:
        try:
            runner.execute_run(self.run_id)
        finally:
            connections.close_all()


@committed
def test_blocking_http_step_outlives_the_lease_and_succeeds(slow_server, enqueued, settings):
    settings.RIPCORD_RUN_LEASE_SECONDS = LEASE
    incident, sysadmin = one_step_incident(
        {
            "title": "Ask the slow service",
            "kind": "http",
            "command": {"method": "GET", "url": "${API_URL}/slow"},
            "timeout_seconds": 60,
        },
        {"API_URL": slow_server.url},
    )
    run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)
    worker = WorkerThread(run.pk)
    worker.start()
    try:
        # The executor is now blocked in one request and never calls should_stop.
        assert slow_server.arrived.wait(20)
        blocked_at = time.monotonic()
        wait_for(
            lambda: time.monotonic() - blocked_at > LEASE + 1,
            timeout=LEASE + 5,
            what="the lease to run out for a run renewed only by its executor",
        )
        assert sweeper.sweep_stale_runs() == []  # beat's sweep, with the lease from settings
        assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.RUNNING
    finally:
        slow_server.release.set()
        worker.join(30)
    assert not worker.is_alive()
    run.refresh_from_db()
    assert (run.status, run.summary) == (StepRun.Status.SUCCEEDED, "HTTP 200 as expected")
    assert not TimelineEntry.objects.filter(kind=TimelineEntry.Kind.RUN_INTERRUPTED).exists()
    assert not [t for t in threading.enumerate() if t.name == f"lease-{run.pk}"]


class PollingExecutor:
    """Polls should_stop as the real executors do, until told to stop (or gives up)."""

    kind = "shell"

    def __init__(self, while_running=lambda: None) -> None:
        self.while_running = while_running
        self.polls = 0

    def validate(self, command):
        return []

    def run(self, execution, *, emit, should_stop):
        self.while_running()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            self.polls += 1
            if should_stop():
                raise StepCancelled()
            time.sleep(0.05)
        return Outcome(True, exit_code=0, summary="never told to stop")


@committed
def test_cancel_while_running_stops_the_executor_through_the_lease_keeper(enqueued, monkeypatch):
    incident, sysadmin = one_step_incident(
        {"title": "Loop", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)
    executor = PollingExecutor(
        while_running=lambda: runs.cancel_run(run_id=run.pk, by=sysadmin)  # a person clicks
    )
    monkeypatch.setattr(runner, "get_executor", lambda kind: executor)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.summary) == (StepRun.Status.CANCELLED, "cancelled")
    assert run.cancel_requested_by == sysadmin


def claimed_run(incident: Incident, sysadmin) -> StepRun:
    run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)
    assert runner.claim(run.pk)
    return run


@pytest.mark.django_db
def test_lease_keeper_renews_a_running_run(enqueued):
    incident, sysadmin = one_step_incident(
        {"title": "x", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    run = claimed_run(incident, sysadmin)
    StepRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    keeper = LeaseKeeper(run.pk)
    keeper.renew()
    run.refresh_from_db()
    assert run.heartbeat_at is not None
    assert timezone.now() - run.heartbeat_at < timedelta(seconds=5)
    assert not keeper.should_stop


@pytest.mark.django_db
def test_lease_keeper_reports_a_cancel_and_keeps_the_run_alive_while_it_stops(
    enqueued, django_assert_num_queries
):
    incident, sysadmin = one_step_incident(
        {"title": "x", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    run = claimed_run(incident, sysadmin)
    runs.cancel_run(run_id=run.pk, by=sysadmin)
    StepRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    keeper = LeaseKeeper(run.pk)
    keeper.renew()
    assert keeper.cancel_requested.is_set() and keeper.should_stop
    assert not keeper.lost.is_set()
    with django_assert_num_queries(1):  # the cancel is known: only the renewal is left to do
        keeper.renew()
    # The executor is stopping what it started: the sweeper must not call the worker lost.
    assert sweeper.sweep_stale_runs(lease_seconds=30) == []


@pytest.mark.django_db
def test_lease_keeper_reports_a_run_the_sweeper_took(enqueued):
    incident, sysadmin = one_step_incident(
        {"title": "x", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    run = claimed_run(incident, sysadmin)
    StepRun.objects.filter(pk=run.pk).update(heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert sweeper.sweep_stale_runs(lease_seconds=30) == [run.pk]
    keeper = LeaseKeeper(run.pk)
    keeper.renew()
    assert keeper.lost.is_set() and keeper.should_stop
    assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.INTERRUPTED


@committed
def test_lease_keeper_keeps_renewing_after_an_error_that_is_no_database_error(
    enqueued, monkeypatch
):
    incident, sysadmin = one_step_incident(
        {"title": "x", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    run = claimed_run(incident, sysadmin)
    stale = timezone.now() - timedelta(minutes=5)
    StepRun.objects.filter(pk=run.pk).update(heartbeat_at=stale)
    keeper = LeaseKeeper(run.pk, interval=0.05)
    real_renew, calls = keeper._renew, []

    def closed_once():
        calls.append(1)
        if len(calls) == 1:
            # Not a DatabaseError: what a connection closed under the keeper raises.
            raise InterfaceError("connection already closed")
        real_renew()

    monkeypatch.setattr(keeper, "_renew", closed_once)
    keeper.start()
    try:
        wait_for(
            lambda: StepRun.objects.filter(pk=run.pk, heartbeat_at__gt=stale).exists(),
            timeout=10,
            what="a renewal after the failed one",
        )
    finally:
        keeper.stop()
    assert len(calls) >= 2 and not keeper.should_stop


def test_lease_keeper_that_dies_makes_the_executor_stop(monkeypatch):
    keeper = LeaseKeeper(run_id=1, interval=0.01)

    def bug():
        raise RuntimeError("a bug in the keeper")

    monkeypatch.setattr(keeper, "renew", bug)
    keeper.start()
    try:
        wait_for(lambda: keeper.should_stop, timeout=10, what="should_stop after the keeper died")
    finally:
        keeper.stop()
    assert keeper.lost.is_set() and not keeper.cancel_requested.is_set()
    assert keeper.failure == "RuntimeError: a bug in the keeper"


@pytest.mark.django_db
def test_run_whose_lease_keeper_dies_stops_and_fails_saying_why(enqueued, monkeypatch):
    incident, sysadmin = one_step_incident(
        {"title": "Loop", "kind": "shell", "command": {"argv": ["true"]}}, {}
    )
    run = runs.request_run(step_id=incident.steps.get(key="act").pk, by=sysadmin)

    def bug(keeper):
        raise RuntimeError("a bug in the keeper")

    monkeypatch.setattr(LeaseKeeper, "renew", bug)  # dies at its first renewal, a second in
    executor = PollingExecutor()
    monkeypatch.setattr(runner, "get_executor", lambda kind: executor)
    runner.execute_run(run.pk)
    run.refresh_from_db()
    assert (run.status, run.summary) == (
        StepRun.Status.FAILED,
        "internal error: the run's lease could not be kept (RuntimeError: a bug in the keeper)",
    )
