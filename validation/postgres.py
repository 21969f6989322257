"""What the checks need to say about a target database without giving its password away."""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


class TargetError(RuntimeError):
    """The target database could not be reached or read; the message says why."""


def redact(dsn: str) -> str:
    """The DSN as keyword conninfo without its password, for messages and evidence."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    params.pop("password", None)
    return make_conninfo("", **params)


def first_line(exc: Exception) -> str:
    """PostgreSQL's message without its DETAIL and HINT lines (the error's type if none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
