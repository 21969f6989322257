"""The one small interface every executor implements (shell, docker, http, sql).

An executor runs one step attempt on a worker. It knows nothing of Django
models, Celery or Channels: it gets a plain ``Execution`` and reports through
its callbacks, so it can be tested alone against real processes, engines,
servers and databases.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class ExecutorError(Exception):
    """The step cannot run as specified (bad command, missing image...). Recorded, not retried."""


class TransientExecutorError(ExecutorError):
    """A passing fault (engine or network briefly away). Recorded as a failure, never retried.

    Nothing re-runs a step by itself: even a "transient" fault may come after the step
    half-happened, and a non-idempotent step (a restore) must not run again without a
    person deciding. The distinction is for that person: the summary says "transient
    error", so they know a re-run may well succeed once the fault has passed.
    """


class StepCancelled(Exception):
    """A person cancelled the run; the executor stopped everything it started."""


class StepTimedOut(Exception):
    """The step's timeout passed; the executor stopped everything it started."""


@dataclass(frozen=True)
class Execution:
    """Everything an executor needs for one attempt."""

    run_id: int
    command: Mapping[str, Any]
    env: Mapping[str, str]  # runbook variables and resolved secrets, passed as data only
    workdir: Path  # empty directory owned by this attempt; shipped files are written here
    files: Mapping[str, str] = field(default_factory=dict)  # runbook files, by relative path
    timeout_seconds: float = 900
    labels: Mapping[str, str] = field(default_factory=dict)  # e.g. {"ripcord.step_run": "42"}
    # Which Ripcord installation runs the attempt. What the attempt starts is marked with it and
    # the run id, so leftovers are found by run *and* installation: two installations (or test
    # runs) on one host have overlapping run ids and must never stop each other's steps.
    instance: str = ""


@dataclass(frozen=True)
class Outcome:
    succeeded: bool
    exit_code: int | None = None
    summary: str = ""  # one line for the step card ("exit 0", "HTTP 503 as expected")
    evidence: Mapping[str, Any] = field(default_factory=dict)  # kept with the run


Emit = Callable[[bytes], None]
"""Called with output as it comes: bytes, cut anywhere (not at line ends, not even between the
bytes of one UTF-8 character). What a run's emits add up to is its log, byte for byte, so an
executor passes a process's output on untouched and encodes the text it writes itself with
``as_line``."""


def as_line(text: str) -> bytes:
    """Text an executor writes itself (a status, a note), as one line of output."""
    return text.encode() + b"\n"


ShouldStop = Callable[[], bool]
"""Polled about every POLL_SECONDS (half a second, ``_stream``); True means: cancel now. It also flushes the run's output,
but it is not the lease: the runner renews that from a thread of its own, so a call
that blocks (one HTTP request, an image pull) does not make a live run look lost."""


class Executor(Protocol):
    kind: str

    def validate(self, command: Mapping[str, Any]) -> list[str]:
        """Problems with a step's ``command`` (empty when fine); used when a runbook loads."""
        ...

    def run(self, execution: Execution, *, emit: Emit, should_stop: ShouldStop) -> Outcome:
        """Run the attempt to completion. Raise StepCancelled / StepTimedOut after cleaning up."""
        ...

    def abandon(self, run_id: int, *, instance: str) -> str:
        """Stop whatever an attempt of run ``run_id`` left running after its worker died.

        Called once the run is declared interrupted (and at worker start-up), from a process
        other than the dead worker, so it finds leftovers by their marks, never by remembered
        ids. Returns what it stopped, for the incident's timeline ("" when nothing was left);
        never raises: a failure to look is reported in the returned text.
        """
        ...
