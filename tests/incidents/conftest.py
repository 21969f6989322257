"""Fixtures for incident tests that hand runs to Celery (no broker in these tests)."""

from __future__ import annotations

from typing import Any

import pytest
from celery.app.task import Task


class Enqueued(list[tuple[int, str]]):
    """``(run id, queue)`` of each run handed to Celery, in order.

    ``options`` holds each of those calls' other options (time limits...); ``others``
    names the other tasks sent meanwhile (preflight, snapshot).
    """

    def __init__(self) -> None:
        super().__init__()
        self.options: list[dict[str, Any]] = []
        self.others: list[str] = []


@pytest.fixture
def enqueued(monkeypatch) -> Enqueued:
    """Every task sent, recorded instead of reaching a broker (runs are executed by hand)."""
    from incidents.tasks import execute_step_run_task

    sent = Enqueued()

    def apply_async(task, args=(), kwargs=None, **options):
        if task.name != execute_step_run_task.name:
            sent.others.append(task.name)
            return
        sent.append((args[0], options.pop("queue")))
        sent.options.append(options)

    monkeypatch.setattr(Task, "apply_async", apply_async)
    return sent
