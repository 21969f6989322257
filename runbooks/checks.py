"""The check protocol: what a runbook's ``check`` asks, and the registry of families that answer.

A check family is a small class registered under the ``kind`` a runbook's ``check``
names. It knows nothing of Django models, Celery or the incident: it gets the
check's ``params``, the environment's variables and a ``CheckContext``, and says
pass, fail or error, with evidence a person can act on. This module sits beside
the executor protocol (``runbooks.executors.base``): a runbook's format depends on
the protocol only, never on who implements it. The families themselves live in
the ``validation`` app, which registers them when Django is ready.

Evidence always has the same four keys, so one template shows every family:
``ran`` (the query or URL that was run), ``expected``, ``seen`` and ``differences``
(sentences naming what differs; empty on a pass). Families add their own details
beside them.

``run_check`` never raises: a check that cannot be evaluated (no connection, bad
params, a bug in a family) is an ``error`` result with the reason, so one broken
check cannot hide the verdict of the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

Result = Literal["pass", "fail", "error"]
RESULTS: tuple[Result, ...] = ("pass", "fail", "error")

logger = logging.getLogger(__name__)


class CheckError(Exception):
    """The check could not be evaluated (no connection, a missing file...): result "error"."""

    def __init__(self, message: str, *, ran: str = "") -> None:
        super().__init__(message)
        self.ran = ran  # what was being run, when known, for the evidence


@dataclass(frozen=True)
class CheckOutcome:
    result: Result
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CheckContext:
    """What a check may know beyond its params and the environment's variables."""

    # The target's fingerprint taken when the incident opened (None: no snapshot).
    snapshot: Mapping[str, Any] | None = None
    # Time left for this check; queries are bounded by it on the server side too.
    timeout_seconds: float = 60.0
    # Shared by the checks of one run: e.g. the target's fingerprint is taken once.
    memo: dict[str, Any] = field(default_factory=dict)


class CheckFamily(Protocol):
    kind: str

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        """Problems with a check's params (empty when fine); asked when a runbook loads."""
        ...

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        """Evaluate the check. Raise CheckError when it cannot be evaluated."""
        ...


FAMILIES: dict[str, CheckFamily] = {}
"""Family instances by check kind (they hold no state between checks)."""

F = TypeVar("F", bound=Callable[[], CheckFamily])


def register(kind: str) -> Callable[[F], F]:
    """Class decorator: make the family answer checks of ``kind`` (it declares that kind too)."""

    def decorate(cls: F) -> F:
        family = cls()
        if family.kind != kind:
            raise ValueError(f"{cls!r} declares kind {family.kind!r}, registered as {kind!r}")
        FAMILIES[kind] = family
        return cls

    return decorate


def kinds() -> list[str]:
    return sorted(FAMILIES)


def evidence(
    ran: str, expected: Any, seen: Any, differences: list[str], **details: Any
) -> dict[str, Any]:
    return {
        "ran": ran,
        "expected": expected,
        "seen": seen,
        "differences": differences,
        **details,
    }


def validate_check(kind: str, params: Mapping[str, Any]) -> list[str]:
    """Problems with a check (empty when fine): an unknown kind, or params its family refuses."""
    family = FAMILIES.get(kind)
    if family is None:
        return [f"no check family runs {kind!r} checks (families: {', '.join(kinds())})"]
    if not isinstance(params, Mapping):
        return [f"{kind}: 'params' must be a mapping"]
    return family.validate(params)


def run_check(
    kind: str, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
) -> CheckOutcome:
    """Evaluate one check; every failure to evaluate it becomes an ``error`` outcome."""
    if problems := validate_check(kind, params):
        return CheckOutcome("error", "; ".join(problems), evidence("", None, None, problems))
    try:
        return FAMILIES[kind].run(params, env, context)
    except CheckError as exc:
        reason = str(exc)
        return CheckOutcome("error", reason, evidence(exc.ran, None, None, [reason]))
    except Exception as exc:  # a family's bug must not take the other checks down
        logger.exception("check family %s crashed", kind)
        reason = f"{kind} check crashed: {type(exc).__name__}: {exc}"
        return CheckOutcome("error", reason, evidence("", None, None, [reason]))
