"""A Celery worker inside the web process, for the embedded (one-command) mode.

The broker is kombu's in-memory transport, whose queues are shared by every
connection in one process, so the web process can only be served by a worker
living in that same process. ``WorkController`` is the unmanaged worker: unlike
``celery worker`` it installs no signal handlers and no logging, which stay
uvicorn's. It runs in a daemon thread with a thread pool (forking a prefork
pool from a threaded web server is unsafe).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import socket
import threading
from collections.abc import Sequence
from typing import Any

from celery import Celery
from celery.worker import WorkController, state

# Two steps at once (say a long restore plus a quick check), one message each.
DEFAULT_CONCURRENCY = 2
# The memory transport is polled; the default 1 s would show as lag on every step.
POLLING_INTERVAL = 0.05


class _EmbeddedWorkController(WorkController):
    in_process = True  # shares the web process's in-memory broker (config/celery.py checks)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.ready = threading.Event()
        super().__init__(*args, **kwargs)

    def on_consumer_ready(self, consumer: Any) -> None:
        self.ready.set()


class EmbeddedWorker:
    def __init__(self, controller: _EmbeddedWorkController, thread: threading.Thread) -> None:
        self.controller = controller
        self.thread = thread
        self._stopped = False

    def stop(self, timeout: float = 10.0) -> None:
        """Warm shutdown: stop taking messages, let running tasks finish (up to ``timeout``).

        The consumer notices within two of its 2 s polls, so expect a few seconds.
        """
        if self._stopped:
            return
        self._stopped = True
        # The consumer loop checks this flag between polls and shuts down from
        # its own thread; calling controller.stop() from here would race it.
        state.should_stop = 0  # type: ignore[assignment]  # the stubs say None; Celery reads an exit code
        try:
            self.thread.join(timeout)
        finally:
            state.should_stop = None
        if self.thread.is_alive():
            raise RuntimeError(f"embedded Celery worker still busy after {timeout} s")


def start(
    app: Celery,
    *,
    queues: Sequence[str] = ("default",),
    concurrency: int = DEFAULT_CONCURRENCY,
    ready_timeout: float = 30.0,
) -> EmbeddedWorker:
    """Start a worker thread consuming ``queues``; return once it takes messages."""
    if not str(app.conf.broker_url).startswith("memory://"):
        raise ValueError("the embedded worker is for the in-memory broker only")
    app.conf.broker_transport_options = {
        **(app.conf.broker_transport_options or {}),
        "polling_interval": POLLING_INTERVAL,
    }
    # Tasks run in pool threads, which find their app as the process default
    # (Celery's one-worker-app-per-process model).
    app.set_default()
    # The web process ran Django's system checks already; the worker's Django
    # fix-up would run them again (and import the URLconf) in this thread.
    os.environ.setdefault("CELERY_SKIP_CHECKS", "1")
    controller = _EmbeddedWorkController(
        app=app,
        hostname=f"embedded@{socket.gethostname()}",
        pool="threads",
        concurrency=concurrency,
        prefetch_multiplier=1,
        queues=list(queues),
        without_heartbeat=True,
        without_mingle=True,
        without_gossip=True,
    )
    thread = threading.Thread(target=controller.start, name="embedded-celery-worker", daemon=True)
    thread.start()
    if not controller.ready.wait(ready_timeout):
        raise RuntimeError(f"embedded Celery worker not ready after {ready_timeout} s")
    worker = EmbeddedWorker(controller, thread)
    atexit.register(_stop_quietly, worker)
    return worker


def _stop_quietly(worker: EmbeddedWorker) -> None:
    with contextlib.suppress(RuntimeError):  # exiting anyway: the daemon thread dies with us
        worker.stop()
