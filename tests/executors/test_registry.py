"""The registry: every kind reachable by name, and the Docker SDK only loaded when needed."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from runbooks import executors
from runbooks.executors import (
    Emit,
    Execution,
    Executor,
    ExecutorError,
    Outcome,
    ShouldStop,
    get_executor,
)

ROOT = Path(__file__).resolve().parents[2]


def test_registry_importing_executors_does_not_import_docker():
    probe = "import sys, runbooks.executors; print('docker' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    assert result.stdout.strip() == "False"


def test_registry_serves_every_kind():
    assert executors.kinds() == ["docker", "http", "shell", "sql", "validation"]
    for kind in executors.kinds():
        executor = get_executor(kind)
        assert executor.kind == kind


def test_registry_refuses_unknown_kinds():
    with pytest.raises(ExecutorError, match="teleport"):
        get_executor("teleport")


def test_registry_serves_a_registered_fake(monkeypatch):
    class Fake:
        kind = "fake"

        def validate(self, command: Mapping[str, Any]) -> list[str]:
            return []

        def run(self, execution: Execution, *, emit: Emit, should_stop: ShouldStop) -> Outcome:
            return Outcome(succeeded=True)

        def abandon(self, run_id: int, *, instance: str) -> str:
            return ""

    fake: Executor = Fake()
    monkeypatch.setitem(executors.REGISTRY, "fake", fake)
    assert get_executor("fake") is fake
