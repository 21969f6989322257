"""A PostgreSQL connection string said aloud: everything but its password.

Plain Python and psycopg only, so the demo target library shares it with the checks.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo


def redact(dsn: str) -> str:
    """The DSN as keyword conninfo without its password, for messages, logs and evidence."""
    try:
        params = conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    params.pop("password", None)
    return make_conninfo("", **params)
