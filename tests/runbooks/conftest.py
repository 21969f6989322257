"""Runbook test fixtures: a small valid runbook, a writer, and one broken file per failure class."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.runbooks.samples import FAILURES, RESTORE_SCRIPT, VALID_RUNBOOK


@dataclass(frozen=True)
class BrokenRunbook:
    name: str
    path: Path
    line: int
    field: str

    @property
    def location(self) -> str:
        """The start of the expected problem line: ``path:line: field:``."""
        return (
            f"{self.path}:{self.line}: {self.field}:" if self.field else f"{self.path}:{self.line}:"
        )


def _line_of(text: str, marker: str) -> int:
    [line] = [n for n, content in enumerate(text.splitlines(), start=1) if marker in content]
    return line


@pytest.fixture
def line_of():
    """``line_of(text, marker)``: the 1-based number of the one line containing marker."""
    return _line_of


@pytest.fixture
def write_runbook(tmp_path):
    """Write a runbook (and its scripts) into its own folder; return the runbook's path."""

    def write(text=VALID_RUNBOOK, scripts=None, folder="demo", name="runbook.yaml"):
        base = tmp_path / folder
        for relpath, content in (
            {"scripts/restore.sh": RESTORE_SCRIPT} if scripts is None else scripts
        ).items():
            (base / relpath).parent.mkdir(parents=True, exist_ok=True)
            (base / relpath).write_text(content)
        base.mkdir(parents=True, exist_ok=True)
        (base / name).write_text(text)
        return base / name

    return write


@pytest.fixture(params=sorted(FAILURES))
def broken_runbook(request, write_runbook) -> BrokenRunbook:
    old, new, marker, field = FAILURES[request.param]
    assert VALID_RUNBOOK.count(old) == 1, "each failure changes one place"
    text = VALID_RUNBOOK.replace(old, new)
    return BrokenRunbook(request.param, write_runbook(text), _line_of(text, marker), field)
