from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from celery import Celery, _state

from demo import embedded_worker


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return condition()


@pytest.fixture
def memory_app(monkeypatch) -> Iterator[Celery]:
    # The worker makes its app the process default; put the project's back afterwards.
    previous_default = _state.default_app  # type: ignore[attr-defined]  # missing from the stubs
    monkeypatch.setenv("CELERY_SKIP_CHECKS", "1")  # start() sets it; undone after the test
    app = Celery("embedded-worker-test", broker="memory://", set_as_current=False)
    app.conf.task_default_queue = "default"
    yield app
    _state.set_default_app(previous_default)


def test_embedded_worker_runs_tasks_from_memory_broker_and_stops(memory_app):
    handlers_before = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
    seen: list[tuple[str, str]] = []

    @memory_app.task(name="tests.record")
    def record(label: str) -> None:
        seen.append((label, threading.current_thread().name))

    worker = embedded_worker.start(memory_app, queues=["default", "db"])
    try:
        record.delay("default queue")
        record.apply_async(args=["db queue"], queue="db")
        assert wait_until(lambda: len(seen) == 2), seen
    finally:
        worker.stop()

    assert sorted(label for label, _ in seen) == ["db queue", "default queue"]
    assert threading.main_thread().name not in {thread for _, thread in seen}
    assert not worker.thread.is_alive()
    # Signals stay with the web server: the worker installed no handlers.
    assert {sig: signal.getsignal(sig) for sig in handlers_before} == handlers_before


def test_embedded_worker_refuses_a_real_broker():
    app = Celery("real-broker-test", broker="redis://127.0.0.1:6379/15", set_as_current=False)
    with pytest.raises(ValueError, match="in-memory broker"):
        embedded_worker.start(app)
