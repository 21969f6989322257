"""What /healthz checks, each part on its own: the database, Redis (channel layer, broker), workers.

Only the database decides the status code. Without it this instance can serve nothing,
so a load balancer should stop sending it requests (503). Redis down or no live worker
is reported as "degraded" with 200: pages still load and manual steps can be ticked, and
taking every web instance out of the pool over a Redis blip would turn a degraded
service into no service at all. Alert on those parts (or on /metrics) instead.

Each part says only ok or not, with an exception's class name: /healthz is public.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.db import connection

from common import heartbeat

logger = logging.getLogger(__name__)

Part = dict[str, Any]
IN_PROCESS: Part = {"ok": True, "kind": "in-process"}


def _failed(what: str, exc: Exception) -> Part:
    logger.warning("healthz: %s check failed: %s: %s", what, type(exc).__name__, exc)
    return {"ok": False, "error": type(exc).__name__}


def check_database() -> Part:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:
        return _failed("database", exc)
    return {"ok": True}


def ping_redis(url: str, what: str) -> Part:
    try:
        heartbeat.redis_client(url).ping()
    except Exception as exc:
        return _failed(what, exc)
    return {"ok": True}


def check_channel_layer() -> Part:
    layer: dict[str, Any] = settings.CHANNEL_LAYERS["default"]
    hosts = layer.get("CONFIG", {}).get("hosts") or []
    if not hosts:
        return IN_PROCESS
    host = hosts[0]
    url = host if isinstance(host, str) else host.get("address", "")
    return ping_redis(str(url), "channel layer")


def check_broker() -> Part:
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith("memory://"):
        return IN_PROCESS
    if heartbeat.store() is None:
        return {"ok": False, "error": "not a Redis broker: not checked"}
    return ping_redis(url, "broker")


def check_workers(broker: Part) -> Part:
    """A live worker on each queue this installation serves (default, control, this host's)."""
    store = heartbeat.store()
    if store is None or not broker["ok"]:
        return {"ok": False, "error": "the broker cannot be read"}
    try:
        queues = store.alive(heartbeat.expected_queues())
    except Exception as exc:
        return _failed("workers", exc)
    return {"ok": all(queues.values()), "queues": queues}


def report() -> tuple[int, dict[str, Any]]:
    """The status code and the body of /healthz."""
    database = check_database()
    broker = check_broker()
    parts = {
        "database": database,
        "channel_layer": check_channel_layer(),
        "broker": broker,
        "workers": check_workers(broker),
    }
    if not database["ok"]:
        status = "down"
    elif all(part["ok"] for part in parts.values()):
        status = "ok"
    else:
        status = "degraded"
    return (503 if status == "down" else 200), {"status": status, **parts}
