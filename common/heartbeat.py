"""Which queues have a live worker: a small key per queue, refreshed by the workers.

Every Celery worker (common.worker's Heartbeat step) sets ``<broker prefix>ripcord:
worker-alive:<queue>`` for each queue it consumes every BEAT_SECONDS, expiring after
ALIVE_SECONDS; /healthz reads them with one MGET. They live in the broker's Redis, under
the broker's key prefix: a worker that cannot reach it cannot receive a task either, and
two installations sharing one Redis do not see each other's workers. Redis's own clock
expires the keys, so the clocks of the hosts never matter.

With the in-memory broker (embedded mode) the worker is a thread of the web process, and
the keys are kept in this process instead.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Iterable
from typing import Protocol

import redis
from django.conf import settings

BEAT_SECONDS = 5.0
ALIVE_SECONDS = 20  # four beats missed: the worker is gone (or cannot reach Redis)
REDIS_TIMEOUT = 0.5  # a probe and a beat give up quickly on an unreachable Redis


class Store(Protocol):
    def beat(self, queues: Iterable[str], worker: str) -> None: ...

    def alive(self, queues: list[str]) -> dict[str, bool]: ...


def key(queue: str) -> str:
    prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
    return f"{prefix}ripcord:worker-alive:{queue}"


@functools.cache
def redis_client(url: str) -> redis.Redis:
    """One client (a connection pool) per URL, with short timeouts; shared by threads."""
    return redis.Redis.from_url(
        url, socket_connect_timeout=REDIS_TIMEOUT, socket_timeout=REDIS_TIMEOUT
    )


class RedisStore:
    def __init__(self, url: str) -> None:
        self.client = redis_client(url)

    def beat(self, queues: Iterable[str], worker: str) -> None:
        with self.client.pipeline(transaction=False) as pipe:
            for queue in queues:
                pipe.set(key(queue), worker, ex=ALIVE_SECONDS)
            pipe.execute()

    def alive(self, queues: list[str]) -> dict[str, bool]:
        values = self.client.mget([key(q) for q in queues]) if queues else []
        return {queue: value is not None for queue, value in zip(queues, values, strict=True)}


class LocalStore:
    """The same keys in this process, for a worker thread beside the web server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._until: dict[str, float] = {}

    def beat(self, queues: Iterable[str], worker: str) -> None:
        until = time.monotonic() + ALIVE_SECONDS
        with self._lock:
            self._until.update(dict.fromkeys(queues, until))

    def alive(self, queues: list[str]) -> dict[str, bool]:
        now = time.monotonic()
        with self._lock:
            return {queue: self._until.get(queue, 0.0) > now for queue in queues}


LOCAL = LocalStore()


def store() -> Store | None:
    """Where this installation's workers beat: None for a broker it cannot read (not Redis)."""
    url = str(settings.CELERY_BROKER_URL)
    if url.startswith("memory://"):
        return LOCAL
    if url.startswith(("redis://", "rediss://")):
        return RedisStore(url)
    return None


def expected_queues() -> list[str]:
    """The queues a complete installation serves: default, housekeeping, and this host's."""
    return list(
        dict.fromkeys(["default", settings.RIPCORD_CONTROL_QUEUE, *settings.RIPCORD_WORKER_QUEUES])
    )
