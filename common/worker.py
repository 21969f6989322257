"""What every Celery worker of Ripcord adds to itself (config/celery.py installs both steps).

- ``Heartbeat``: marks the queues it consumes alive (common.heartbeat), from the consumer's
  own timer, so a worker whose consumer loop is stuck stops beating too.
- ``MetricsEndpoint``: the worker's own /metrics on RIPCORD_WORKER_METRICS_PORT, served
  by the main process from the values all its pool processes write (multiprocess mode).
  Off (port 0) in the embedded worker: it shares the web process and its /metrics.
"""

from __future__ import annotations

import logging
from typing import Any
from wsgiref.simple_server import WSGIServer

from celery import bootsteps
from django.conf import settings

from common import heartbeat, metrics

logger = logging.getLogger(__name__)


class Heartbeat(bootsteps.StartStopStep):
    requires = ("celery.worker.consumer.tasks:Tasks",)

    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.timer_entry: Any = None
        self.failing = False

    def start(self, consumer: Any) -> None:
        queues = sorted(consumer.app.amqp.queues.consume_from)
        store = heartbeat.store()
        if store is None:
            logger.warning("worker heartbeat: the broker is not Redis; /healthz cannot see workers")
            return
        self.beat(store, queues, consumer.hostname)
        self.timer_entry = consumer.timer.call_repeatedly(
            heartbeat.BEAT_SECONDS, self.beat, (store, queues, consumer.hostname), priority=10
        )

    def stop(self, consumer: Any) -> None:
        if self.timer_entry is not None:
            self.timer_entry.cancel()
            self.timer_entry = None

    def beat(self, store: heartbeat.Store, queues: list[str], worker: str) -> None:
        try:
            store.beat(queues, worker)
        except Exception:  # Redis away: the broker connection is retrying too; beat again later
            if not self.failing:
                logger.warning(
                    "worker heartbeat failed; retrying every %ss", heartbeat.BEAT_SECONDS
                )
            self.failing = True
        else:
            self.failing = False


class MetricsEndpoint(bootsteps.StartStopStep):
    def __init__(self, parent: Any, **kwargs: Any) -> None:
        super().__init__(parent, **kwargs)
        self.server: WSGIServer | None = None

    def start(self, worker: Any) -> None:
        port = settings.RIPCORD_WORKER_METRICS_PORT
        if port:
            host = settings.RIPCORD_WORKER_METRICS_HOST
            try:
                self.server = metrics.serve(host, port, settings.RIPCORD_METRICS_TOKEN)
            except OSError:  # the port is taken: steps matter more than this worker's metrics
                logger.exception("could not serve metrics on %s:%s", host, port)

    def stop(self, worker: Any) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
