"""What every check family shares: its outcome, its context, the registry, the connection.

A family is a small class registered under the ``kind`` a runbook's ``check`` names
(``@register("sql")``). It knows nothing of Django models, Celery or the incident:
it gets the check's ``params``, the environment's variables and a ``CheckContext``,
and says pass, fail or error, with evidence a person can act on.

Evidence always has the same four keys, so one template shows every family:
``ran`` (the query or URL that was run), ``expected``, ``seen`` and ``differences``
(sentences naming what differs; empty on a pass). Families add their own details
beside them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from psycopg.conninfo import conninfo_to_dict, make_conninfo

Result = Literal["pass", "fail", "error"]
RESULTS: tuple[Result, ...] = ("pass", "fail", "error")
DEFAULT_DATABASE_ENV = "TARGET_DATABASE_URL"
EVIDENCE_ROWS = 20  # rows kept as evidence per query: enough to act on, small to store


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


def connection_string(params: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The target's connection string, from the variable the check names.

    A ``PGPASSWORD`` secret is added when the URL carries no password, as libpq
    would do for a command-line tool; the result is never put into evidence.
    """
    variable = params.get("database_env", DEFAULT_DATABASE_ENV)
    dsn = env.get(variable)
    if not dsn:
        raise CheckError(f"the variable {variable} holding the connection is not set")
    password = env.get("PGPASSWORD")
    try:
        if password and not conninfo_to_dict(dsn).get("password"):
            dsn = make_conninfo(dsn, password=password)
    except Exception as exc:  # psycopg raises ProgrammingError for an unparsable URL
        raise CheckError(f"the variable {variable} is not a connection string") from exc
    return dsn


def database_env_problems(params: Mapping[str, Any], family: str) -> list[str]:
    value = params.get("database_env", DEFAULT_DATABASE_ENV)
    if not isinstance(value, str) or not value:
        return [f"{family}: 'database_env' must name a variable"]
    return []


def unknown_keys(params: Mapping[str, Any], known: set[str], family: str) -> list[str]:
    return [f"{family}: unknown key {key!r}" for key in sorted(set(params) - known)]


def is_name_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) and item for item in value)


def plain(value: Any) -> Any:
    """A JSON-friendly copy of a database value, for evidence."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return str(value)


def examples(values: list[Any], total: int, limit: int = 5) -> str:
    """``97, 194, 291, … (18 in all)``: a few values a person can look up."""
    shown = ", ".join("NULL" if v is None else str(v) for v in values[:limit])
    return shown + (f", … ({total} in all)" if total > limit else "")
