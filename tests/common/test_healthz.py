"""/healthz: the database, Redis (channel layer, broker) and live workers, each on its own.

Redis is the test's own redis-server on a free port (stopped to take it down, or a port
nobody listens on), never the machine's shared one.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from celery import Celery, _state

from common import heartbeat
from common.worker import Heartbeat
from demo import embedded_worker
from tests.common.conftest import URLS
from tests.integration.processes import free_port
from tests.integration.servers import RedisServer

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]

PREFIX = "healthz-test:"


@pytest.fixture
def own_redis(tmp_path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path).start()
    yield server
    server.stop()


def use_redis(settings, url: str) -> None:
    """This installation's channel layer and broker on ``url``, under a key prefix."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [url], "prefix": "healthz-test"},
        }
    }
    settings.CELERY_BROKER_URL = url
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"global_keyprefix": PREFIX}


@pytest.fixture
def on_redis(own_redis, settings) -> RedisServer:
    use_redis(settings, own_redis.url())
    return own_redis


def beat(*queues: str) -> None:
    store = heartbeat.store()
    assert store is not None
    store.beat(queues, "worker@test")


def test_all_up_is_ok(client, on_redis):
    beat(*heartbeat.expected_queues())
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert [body[part]["ok"] for part in ("database", "channel_layer", "broker", "workers")] == [
        True
    ] * 4
    assert body["workers"]["queues"] == dict.fromkeys(heartbeat.expected_queues(), True)
    assert "no-cache" in response["Cache-Control"]


def test_no_live_worker_is_degraded_yet_serving(client, on_redis):
    beat("default")  # the step worker is up; the control worker (the sweeper) is not
    response = client.get("/healthz")
    assert response.status_code == 200  # a load balancer keeps sending pages here
    body = response.json()
    assert body["status"] == "degraded"
    assert body["workers"]["ok"] is False
    assert body["workers"]["queues"]["default"] is True
    assert body["workers"]["queues"]["control"] is False
    assert body["broker"] == {"ok": True}


def test_worker_beats_expire(on_redis):
    beat("default")
    client = heartbeat.redis_client(on_redis.url())
    assert 0 < client.ttl(f"{PREFIX}ripcord:worker-alive:default") <= heartbeat.ALIVE_SECONDS
    assert client.ttl(f"{PREFIX}ripcord:worker-alive:control") == -2  # never beat: no key


def test_redis_stopped_is_degraded_not_down(client, on_redis):
    beat(*heartbeat.expected_queues())
    on_redis.stop()
    started = time.monotonic()
    response = client.get("/healthz")
    assert time.monotonic() - started < 5
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["database"] == {"ok": True}
    assert body["channel_layer"] == {"ok": False, "error": "ConnectionError"}
    assert body["broker"] == {"ok": False, "error": "ConnectionError"}
    assert body["workers"]["ok"] is False
    assert str(on_redis.port) not in response.content.decode()  # public: no addresses


def test_wrong_redis_url_is_reported_quickly(client, settings):
    use_redis(settings, f"redis://127.0.0.1:{free_port()}/0")  # nobody listens there
    started = time.monotonic()
    body = client.get("/healthz").json()
    assert time.monotonic() - started < 5
    assert (body["status"], body["channel_layer"]["ok"], body["broker"]["ok"]) == (
        "degraded",
        False,
        False,
    )


def test_database_down_is_503(client, monkeypatch, on_redis):
    def broken_cursor(*args, **kwargs):
        raise ConnectionError("connection refused")

    beat(*heartbeat.expected_queues())
    monkeypatch.setattr("common.health.connection.cursor", broken_cursor)
    response = client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "down"
    assert body["database"] == {"ok": False, "error": "ConnectionError"}
    assert body["broker"]["ok"] and body["workers"]["ok"]  # still reported, each on its own


def test_embedded_mode_reports_in_process_parts(client):
    # The test settings: in-memory channel layer and broker, no worker thread.
    body = client.get("/healthz").json()
    assert body["channel_layer"] == body["broker"] == {"ok": True, "kind": "in-process"}
    assert body["workers"]["ok"] is False


@pytest.fixture
def memory_app(monkeypatch) -> Iterator[Celery]:
    previous_default = _state.default_app  # type: ignore[attr-defined]  # missing from the stubs
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")
    app = Celery("healthz-test", broker="memory://", set_as_current=False)
    app.conf.task_default_queue = "default"
    app.steps["consumer"].add(Heartbeat)
    yield app
    _state.set_default_app(previous_default)


def test_a_running_worker_marks_its_queues_alive(client, memory_app):
    queues = heartbeat.expected_queues()
    worker = embedded_worker.start(memory_app, queues=queues)
    try:
        deadline = time.monotonic() + 10
        while not all(heartbeat.LOCAL.alive(queues).values()):
            assert time.monotonic() < deadline, heartbeat.LOCAL.alive(queues)
            time.sleep(0.02)
        # A Celery worker started inside the test process leaves this test's database
        # connection closed (a real worker is a process of its own): workers only, here.
        body = client.get("/healthz").json()
        assert body["workers"] == {"ok": True, "queues": dict.fromkeys(queues, True)}
    finally:
        worker.stop()


def test_a_failing_beat_never_raises_into_the_worker():
    step = Heartbeat(None)
    dead = heartbeat.RedisStore(f"redis://127.0.0.1:{free_port()}/0")
    step.beat(dead, ["default"], "worker@test")  # logged once, retried by the timer
    assert step.failing


def test_healthz_answers_head(client):
    assert client.head("/healthz").status_code == 200


def test_healthz_refuses_post(client):
    assert client.post("/healthz").status_code == 405
