"""Helpers the validation check families share: the target's connection, params, evidence values.

The protocol the families implement (outcome, context, registry) is ``runbooks.checks``;
its names are re-exported here for the families' convenience.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from psycopg.conninfo import conninfo_to_dict, make_conninfo

from runbooks.checks import CheckContext as CheckContext
from runbooks.checks import CheckError as CheckError
from runbooks.checks import CheckOutcome as CheckOutcome
from runbooks.checks import evidence as evidence
from runbooks.checks import register as register

DEFAULT_DATABASE_ENV = "TARGET_DATABASE_URL"
EVIDENCE_ROWS = 20  # rows kept as evidence per query: enough to act on, small to store


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
