"""/metrics changes when a step runs: runs by state, queue waits, pushes, sweeper actions, sockets.

Runs execute in-process (the runner, a scripted executor, real PostgreSQL) and /metrics is
scraped through the URLconf and parsed with prometheus-client's own parser. That the
same values reach /metrics when a separate worker process runs the step is
tests/integration/test_metrics_processes.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.utils import timezone
from prometheus_client import REGISTRY

from incidents import broadcast, events
from incidents.events import Change
from incidents.execution import runner, sweeper
from incidents.models import StepRun
from incidents.routing import websocket_urlpatterns
from incidents.services import runs
from runbooks.executors.base import Outcome
from tests.prometheus import Scrape, scrape

pytestmark = pytest.mark.django_db

RUNS = "ripcord_step_runs"
WAIT = "ripcord_step_run_queue_wait_seconds"


class PrintingExecutor:
    kind = "shell"

    def validate(self, command):
        return []

    def run(self, execution, *, emit, should_stop):
        emit(b"restoring\n")
        should_stop()  # flushes the output: a tail push
        return Outcome(True, exit_code=0, summary="exit 0")


@pytest.fixture
def printing(monkeypatch):
    monkeypatch.setattr(runner, "get_executor", lambda kind: PrintingExecutor())


def runs_in(now: Scrape, state: str, queue: str = "default") -> float:
    return now.value(RUNS, state=state, queue=queue)


def test_metrics_change_when_a_step_runs(
    client, queued_restore, printing, sent, django_capture_on_commit_callbacks
):
    StepRun.objects.filter(pk=queued_restore.pk).update(
        approved_at=timezone.now() - timedelta(seconds=7)  # queued 7 s before its claim
    )
    before = scrape(client)
    assert runs_in(before, "queued") == 1
    assert before.value("ripcord_database_up") == 1
    assert 6.5 < before.value("ripcord_step_run_oldest_queued_seconds", queue="default") < 60

    with django_capture_on_commit_callbacks(execute=True):  # the pushes, as on commit
        runner.execute_run(queued_restore.pk)

    after = scrape(client)
    assert StepRun.objects.get(pk=queued_restore.pk).status == StepRun.Status.SUCCEEDED
    assert runs_in(after, "queued") == runs_in(before, "queued") - 1 == 0
    assert runs_in(after, "succeeded") == runs_in(before, "succeeded") + 1
    assert after.value("ripcord_step_run_oldest_queued_seconds", queue="default") == 0
    # One more claimed run, waiting between 5 and 10 s.
    assert (
        after.value(f"{WAIT}_count", queue="default")
        == before.value(f"{WAIT}_count", queue="default") + 1
    )
    for bound, more in (("5.0", 0), ("10.0", 1), ("+Inf", 1)):
        grew = after.value(f"{WAIT}_bucket", queue="default", le=bound) - before.value(
            f"{WAIT}_bucket", queue="default", le=bound
        )
        assert grew == more, bound
    assert (
        7
        <= after.value(f"{WAIT}_sum", queue="default")
        - before.value(f"{WAIT}_sum", queue="default")
        < 60
    )
    # Started and finished (changes) and its output (a tail), each pushed and timed.
    sent_changes = "ripcord_pushes_total"
    assert (
        after.value(sent_changes, kind="change", result="sent")
        >= before.value(sent_changes, kind="change", result="sent") + 2
    )
    assert (
        after.value(sent_changes, kind="tail", result="sent")
        >= before.value(sent_changes, kind="tail", result="sent") + 1
    )
    assert after.value("ripcord_push_delay_seconds_count", kind="change") > before.value(
        "ripcord_push_delay_seconds_count", kind="change"
    )


def test_every_state_of_every_queue_is_exposed(client, incident):
    now = scrape(client)
    assert all(now.has(RUNS, state=state, queue="default") for state in StepRun.Status.values)
    assert now.has(f"{WAIT}_bucket", queue="default", le="+Inf")


def test_a_queue_named_by_a_run_gets_its_own_series(client, queued_restore):
    StepRun.objects.filter(pk=queued_restore.pk).update(queue="database")
    now = scrape(client)
    assert runs_in(now, "queued", "database") == 1
    assert runs_in(now, "queued", "default") == 0


def test_the_run_metrics_say_when_the_database_cannot_be_read(client, monkeypatch, incident):
    def unreadable():
        raise RuntimeError("the database went away")

    monkeypatch.setattr("incidents.metrics._step_run_rows", unreadable)
    now = scrape(client)
    assert now.value("ripcord_database_up") == 0
    assert not now.has(RUNS, state="queued", queue="default")


def test_sweeper_actions_are_counted(client, queued_restore, settings, sent):
    before = scrape(client)
    # Queued too long: the sweeper tells the incident, once.
    StepRun.objects.filter(pk=queued_restore.pk).update(
        approved_at=timezone.now() - timedelta(seconds=600)
    )
    assert sweeper.warn_waiting_runs(warn_seconds=60) == [queued_restore.pk]
    assert sweeper.warn_waiting_runs(warn_seconds=60) == []
    # Claimed, then its worker stopped renewing the lease.
    assert runner.claim(queued_restore.pk)
    StepRun.objects.filter(pk=queued_restore.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=120)
    )
    assert sweeper.sweep_stale_runs(lease_seconds=30) == [queued_restore.pk]
    after = scrape(client)
    for action in ("flagged_waiting", "interrupted"):
        name = "ripcord_sweeper_actions_total"
        assert after.value(name, action=action) == before.value(name, action=action) + 1, action
    assert runs_in(after, "interrupted") == runs_in(before, "interrupted") + 1


def test_a_push_the_channel_layer_refuses_is_counted_failed(
    client, monkeypatch, incident, step, django_capture_on_commit_callbacks
):
    def refuse(group, message):
        raise ConnectionError("Redis is restarting")

    monkeypatch.setattr(events, "group_send", refuse)
    name = "ripcord_pushes_total"
    before = scrape(client)
    with django_capture_on_commit_callbacks(execute=True):  # robust: logged, not raised
        broadcast.publish(Change(incident.pk, steps={step("disable-v1").pk}))
    after = scrape(client)
    for result, more in (("failed", 1), ("sent", 0)):
        grew = after.value(name, kind="change", result=result) - before.value(
            name, kind="change", result=result
        )
        assert grew == more, result


def test_metrics_carry_no_incident_content(
    client, queued_restore, printing, incident, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        runner.execute_run(queued_restore.pk)
    client.get(f"/incidents/{incident.pk}/")  # a request with an id in its path
    text = scrape(client).text
    for content in (
        incident.title,
        queued_restore.step.title,
        queued_restore.step.key,
        "sysadmin",
        "restoring",
        f"/incidents/{incident.pk}/",
    ):
        assert content not in text, content


ws_app = URLRouter(websocket_urlpatterns)


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_websocket_gauge_follows_connects_and_disconnects(incident, viewer, outsider):
    def sockets() -> float | None:
        return REGISTRY.get_sample_value("ripcord_websocket_connections")

    start = sockets() or 0.0

    async def open_as(user):
        comm = WebsocketCommunicator(ws_app, f"/ws/incidents/{incident.pk}/")
        comm.scope["user"] = user
        connected, _ = await comm.connect(timeout=5)
        return comm, connected

    first, ok1 = await open_as(viewer)
    second, ok2 = await open_as(viewer)
    refused, ok3 = await open_as(outsider)
    assert (ok1, ok2, ok3) == (True, True, False)
    assert sockets() == start + 2
    await first.disconnect()
    await refused.disconnect()  # never counted: does not count down
    assert sockets() == start + 1
    await second.disconnect()
    assert sockets() == start


def test_request_run_is_visible_as_queued(client, restore, sysadmin, ic):
    before = scrape(client)
    run = runs.request_run(step_id=restore.pk, by=sysadmin)
    middle = scrape(client)
    assert runs_in(middle, "awaiting_approval") == runs_in(before, "awaiting_approval") + 1
    runs.approve_run(run_id=run.pk, by=ic)
    after = scrape(client)
    assert runs_in(after, "awaiting_approval") == runs_in(before, "awaiting_approval")
    assert runs_in(after, "queued") == runs_in(before, "queued") + 1
