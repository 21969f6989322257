"""Metrics and health across real processes, as in production.

uvicorn runs two worker processes and a Celery worker runs the step in its prefork
child, each service with its own PROMETHEUS_MULTIPROC_DIR. The web's /metrics shows the
run the worker executed (read from PostgreSQL) whichever uvicorn process answers; the
worker's own endpoint adds up what its child pushed; /healthz sees the worker through
the heartbeat it keeps in Redis.
"""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass

import pytest

from common.tokens import create_token
from incidents.models import StepRun
from tests.incidents.conftest import one_step_incident
from tests.integration.conftest import ARTIFACTS
from tests.integration.http import ApiClient
from tests.integration.processes import free_port, start_server, start_worker, wait_for
from tests.prometheus import Scrape

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

RUNS = "ripcord_step_runs"
WAIT = "ripcord_step_run_queue_wait_seconds_count"
PUSHES = "ripcord_pushes_total"


@dataclass
class Stack:
    web: str
    worker_metrics: str


@pytest.fixture(scope="module")
def stack(django_db_setup, django_db_blocker, tmp_path_factory):
    web_dir = tmp_path_factory.mktemp("web-metrics")
    worker_dir = tmp_path_factory.mktemp("worker-metrics")
    port = free_port()
    with django_db_blocker.unblock():
        web = start_server(ARTIFACTS, WEB_CONCURRENCY="2", PROMETHEUS_MULTIPROC_DIR=str(web_dir))
        try:
            worker = start_worker(
                ARTIFACTS,
                PROMETHEUS_MULTIPROC_DIR=str(worker_dir),
                RIPCORD_WORKER_METRICS_PORT=str(port),
            )
        except BaseException:
            web.stop()
            raise
    yield Stack(web.url, f"http://127.0.0.1:{port}/metrics")
    worker.stop()
    web.stop()


def read(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return bytes(response.read())


def scrape(url: str) -> Scrape:
    return Scrape(read(url).decode())


@pytest.mark.timeout(120)
def test_a_step_a_worker_process_ran_shows_on_metrics(stack):
    incident, sysadmin = one_step_incident(
        {"title": "Say hello", "kind": "shell", "command": {"argv": ["echo", "hello"]}}, {}
    )
    act = incident.steps.get(key="act")
    web_before = scrape(stack.web + "/metrics")
    worker_before = scrape(stack.worker_metrics)

    api = ApiClient(stack.web, create_token(sysadmin, "it")[1])
    asked = api.post(f"/incidents/{incident.pk}/steps/{act.pk}/run")
    assert asked.status_code == 201, asked.body
    run_id = asked.json()["id"]
    wait_for(
        lambda: StepRun.objects.filter(pk=run_id, status__in=["succeeded", "failed"]).exists(),
        timeout=60,
        what="the worker process to run the step",
    )
    assert StepRun.objects.get(pk=run_id).status == "succeeded"

    web_after = scrape(stack.web + "/metrics")
    for state in ("succeeded", "queued", "running"):
        grew = web_after.value(RUNS, state=state, queue="default") - web_before.value(
            RUNS, state=state, queue="default"
        )
        assert grew == (1 if state == "succeeded" else 0), state
    assert web_after.value(WAIT, queue="default") == web_before.value(WAIT, queue="default") + 1

    # Pushed by the worker's prefork child, served by its main process.
    def pushed(kind: str) -> float:
        now = scrape(stack.worker_metrics)
        return now.value(PUSHES, kind=kind, result="sent") - worker_before.value(
            PUSHES, kind=kind, result="sent"
        )

    wait_for(lambda: pushed("change") >= 2, timeout=20, what="the run's start and end pushes")
    assert pushed("tail") >= 1
    assert not scrape(stack.worker_metrics).has(RUNS, state="succeeded", queue="default")


@pytest.mark.timeout(60)
def test_requests_to_any_web_process_add_up(stack):
    """Whichever of uvicorn's processes answers a scrape, it counts the requests of all."""
    label = {"route": "healthz", "method": "GET", "status": "2xx"}
    name = "ripcord_http_request_duration_seconds_count"
    before = scrape(stack.web + "/metrics").value(name, **label)
    for _ in range(20):
        read(stack.web + "/healthz")
    counts = {scrape(stack.web + "/metrics").value(name, **label) for _ in range(6)}
    assert counts == {before + 20}


@pytest.mark.timeout(60)
def test_healthz_sees_the_worker_process(stack):
    body = json.loads(read(stack.web + "/healthz"))
    assert body["database"] == body["channel_layer"] == body["broker"] == {"ok": True}
    assert body["workers"]["queues"]["default"] is True
    # No control worker (beat) in this stack: the sweeper's queue has nobody.
    assert body["workers"]["queues"]["control"] is False
    assert body["status"] == "degraded"
