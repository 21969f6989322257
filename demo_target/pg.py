"""Connections and PostgreSQL client tools for the demo target.

Every way in goes through here, so a missing server, a missing database, a
missing ``pg_dump`` or a DSN that cannot be parsed produces one kind of error
(TargetError) with a message a person can act on, and a password in a DSN never reaches a process's argv (where ``ps`` shows
it to everyone on the host): the tools get it through ``PGPASSWORD``.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo
from psycopg.rows import TupleRow

from common.dsn import redact

Conn = psycopg.Connection[TupleRow]

CONNECT_TIMEOUT_SECONDS = 5
TOOL_TIMEOUT_SECONDS = 900


class TargetError(RuntimeError):
    """The demo target could not be built, backed up, migrated, restored or read."""


class TargetUnavailable(TargetError):
    """No connection to the target's PostgreSQL server (or its database is missing)."""


def _params(dsn: str) -> dict[str, Any]:
    """The DSN's parameters; a DSN psycopg cannot parse is a TargetError like any other."""
    try:
        return conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise _unparsable(exc) from exc


def _unparsable(exc: psycopg.ProgrammingError) -> TargetError:
    reason = " ".join(str(exc).split())
    return TargetError(f"not a PostgreSQL URL or key=value connection string: {reason}")


def with_dbname(dsn: str, dbname: str) -> str:
    """The same server and credentials as ``dsn``, another database."""
    return make_conninfo("", **(_params(dsn) | {"dbname": dbname}))


def dbname_of(dsn: str) -> str:
    name = _params(dsn).get("dbname")
    if not name:
        raise TargetError(f"the DSN names no database: {redact(dsn)}")
    return str(name)


def connect(dsn: str, *, autocommit: bool = False, cls: type[Conn] = Conn) -> Conn:
    """Open a connection (of ``cls``), turning "cannot connect" into TargetUnavailable."""
    try:
        return cls.connect(dsn, autocommit=autocommit, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.ProgrammingError as exc:  # raised before connecting: the DSN is unparsable
        raise _unparsable(exc) from exc
    except psycopg.OperationalError as exc:
        reason = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
        raise TargetUnavailable(f"cannot connect to {redact(dsn)}: {reason}") from exc


def tool_connection(dsn: str) -> tuple[str, dict[str, str]]:
    """``--dbname`` value and environment for pg_dump/pg_restore: the password goes in the env."""
    params = _params(dsn)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password:
        env["PGPASSWORD"] = str(password)
    return make_conninfo("", **params), env


def run_tool(argv: Sequence[str], env: dict[str, str]) -> str:
    """Run a PostgreSQL client tool (argv list, no shell); return stdout or raise TargetError."""
    try:
        # An argv list built by this package, never a shell string.
        done = subprocess.run(
            list(argv),
            env=env,
            capture_output=True,
            text=True,
            check=False,
            timeout=TOOL_TIMEOUT_SECONDS,
        )
    except FileNotFoundError as exc:
        raise TargetError(
            f"{argv[0]} is not on PATH: the demo target needs the PostgreSQL client tools"
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise TargetError(f"{argv[0]} did not finish within {TOOL_TIMEOUT_SECONDS} s") from exc
    if done.returncode != 0:
        tail = "\n".join(done.stderr.strip().splitlines()[-10:])
        raise TargetError(f"{argv[0]} failed with exit code {done.returncode}:\n{tail}")
    return done.stdout
