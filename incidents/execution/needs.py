"""Check what a step declares it needs before running it, and say plainly what is missing.

In embedded mode without PostgreSQL, the MIG-002 demo's database steps cannot
run; this turns "psql: connection refused" (or "pg_restore: command not found")
deep in a script's output into a sentence on the step card naming the step's need
and how to meet it. A shell step that needs PostgreSQL runs its client tools, so
those must be on the PATH the shell executor gives scripts; an sql step speaks to
the server itself (psycopg) and needs only the server.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from typing import Any

import psycopg

from runbooks.executors.base import ExecutorError
from runbooks.executors.shell import BASE_PATH

CONNECT_TIMEOUT_SECONDS = 3
PG_CLIENT_TOOLS = ("psql", "pg_restore")


def _postgres_problem(env: Mapping[str, str]) -> str | None:
    dsn = env.get("TARGET_DATABASE_URL", "")
    params: dict[str, Any] = {
        key: env[var]
        for key, var in (
            ("host", "PGHOST"),
            ("port", "PGPORT"),
            ("dbname", "PGDATABASE"),
            ("user", "PGUSER"),
            ("password", "PGPASSWORD"),
        )
        if env.get(var) and not dsn
    }
    if not dsn and "host" not in params:
        return "the environment names no PostgreSQL target (TARGET_DATABASE_URL or PGHOST)"
    try:
        with psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS, **params):
            return None
    except psycopg.Error as exc:
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        where = (
            dsn.rsplit("@", 1)[-1] if dsn else f"{params.get('host')}:{params.get('port', 5432)}"
        )
        return f"no PostgreSQL answered at {where} ({reason})"


def _missing_tools(path: str) -> list[str]:
    return [tool for tool in PG_CLIENT_TOOLS if shutil.which(tool, path=path) is None]


def _docker_problem() -> str | None:
    from runbooks.executors.docker import engine_problem  # the only module that imports docker

    return engine_problem()


def check_needs(
    needs: list[str], env: Mapping[str, str], *, kind: str, tools_path: str = BASE_PATH
) -> None:
    """Raise ExecutorError naming the first unmet need, before anything runs.

    ``tools_path`` is where a shell step's scripts find their programs (the shell
    executor's PATH).
    """
    for need in needs:
        if need == "postgresql":
            if kind == "shell" and (missing := _missing_tools(tools_path)):
                raise ExecutorError(
                    f"This step needs the PostgreSQL client tools: {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not installed on this worker. "
                    "Install postgresql-client here, or run the step on a worker that has "
                    "it (the step's queue)."
                )
            if problem := _postgres_problem(env):
                raise ExecutorError(
                    f"This step needs a PostgreSQL target: {problem}. Ripcord's embedded mode "
                    "runs without PostgreSQL, but this step cannot; point the environment at a "
                    "PostgreSQL server (RIPCORD_ENV_<ENVIRONMENT>_TARGET_DATABASE_URL on the "
                    "worker, see README)."
                )
        if need == "docker" and (problem := _docker_problem()):
            raise ExecutorError(f"This step needs a Docker engine: {problem}.")
