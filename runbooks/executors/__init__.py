"""Executors by step kind, each behind the one interface in ``base``.

``docker`` is imported on first use only: it is the one module that imports the Docker
SDK, and the web process or a worker that never runs container steps should neither
need nor load it. Apps above this one add executors of their own with
``register_executor`` when Django is ready (the validation app's ``validation`` step).
Tests may put a fake executor into REGISTRY under a kind of their own.
"""

from __future__ import annotations

import importlib

from runbooks.executors.base import (
    Emit,
    Execution,
    Executor,
    ExecutorError,
    Outcome,
    ShouldStop,
    StepCancelled,
    StepTimedOut,
    TransientExecutorError,
    as_line,
)
from runbooks.executors.http import HttpExecutor
from runbooks.executors.shell import ShellExecutor
from runbooks.executors.sql import SqlExecutor

__all__ = [
    "REGISTRY",
    "Emit",
    "Execution",
    "Executor",
    "ExecutorError",
    "Outcome",
    "ShouldStop",
    "StepCancelled",
    "StepTimedOut",
    "TransientExecutorError",
    "as_line",
    "get_executor",
    "kinds",
    "register_executor",
]

REGISTRY: dict[str, Executor] = {
    "shell": ShellExecutor(),
    "http": HttpExecutor(),
    "sql": SqlExecutor(),
}
"""Executor instances by step kind (they hold no state between runs)."""

_LAZY: dict[str, tuple[str, str]] = {
    "docker": ("runbooks.executors.docker", "DockerExecutor"),
}


def register_executor(executor: Executor) -> None:
    """Make ``executor`` run steps of its kind (called once, from an app's ``ready``)."""
    REGISTRY[executor.kind] = executor


def get_executor(kind: str) -> Executor:
    """The executor for a step kind; ExecutorError for a kind nobody implements."""
    if kind in REGISTRY:
        return REGISTRY[kind]
    if kind not in _LAZY:
        raise ExecutorError(f"no executor for step kind {kind!r}")
    module, name = _LAZY[kind]
    executor: Executor = getattr(importlib.import_module(module), name)()
    # Two threads may both get here; the loser's instance is simply dropped.
    return REGISTRY.setdefault(kind, executor)


def kinds() -> list[str]:
    """Every step kind an executor exists for, without importing the lazy ones."""
    return sorted(set(REGISTRY) | set(_LAZY))
