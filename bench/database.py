"""A benchmark's own PostgreSQL database: created fresh, guarded, dropped only if still ours.

A session-level advisory lock, held from creation until ``close()``, keeps a second
run of the same bench from dropping the database from under the first (two runs at
once would also measure each other): the second refuses to start with ``BenchBusy``.
The database is labelled with the run's id, so a drop never removes another run's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ADMIN_DSN = "postgres://postgres@127.0.0.1:5432/postgres"
ROOT = Path(__file__).resolve().parent.parent


def use_database(admin_dsn: str, name: str, secret_key: str) -> str:
    """This process's Django (set-up only) on database ``name``, production settings; its URL.

    No REDIS_URL here: set-up's own publishes go to an in-process layer (the servers a
    bench starts get theirs).
    """
    database_url = f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        SECRET_KEY=secret_key,
        RIPCORD_DEMO="0",
        RIPCORD_LOG_LEVEL="WARNING",
    )
    os.environ.pop("REDIS_URL", None)
    return database_url


def migrate() -> None:
    """``manage.py migrate`` on the database ``use_database`` chose."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"],
        cwd=ROOT,
        env=os.environ | {"REDIS_URL": ""},
        check=True,
        timeout=300,
    )


class BenchBusy(Exception):
    """Another run of the same benchmark is under way."""


class BenchDatabase:
    def __init__(self, name: str, *, run_id: str, admin_dsn: str = ADMIN_DSN) -> None:
        self.name = name
        self.admin_dsn = admin_dsn
        self.url = f"{admin_dsn.rsplit('/', 1)[0]}/{name}"
        self.label = f"ripcord bench run {run_id}"
        self._created = False
        self._lock: Any = None  # the admin connection holding the advisory lock

    def _admin(self) -> Any:
        import psycopg

        return psycopg.connect(self.admin_dsn, autocommit=True, connect_timeout=10)

    def create(self) -> None:
        """Take the lock, drop what an earlier run left, create ours and label it."""
        from psycopg import sql

        self._lock = self._admin()
        row = self._lock.execute(
            "SELECT pg_try_advisory_lock(hashtext(%s))", (self.name,)
        ).fetchone()
        if not (row and row[0]):
            raise BenchBusy(
                f"another run of this bench holds {self.name}; try again when it has finished"
            )
        name = sql.Identifier(self.name)
        with self._admin() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
            conn.execute(sql.SQL("CREATE DATABASE {}").format(name))
            conn.execute(
                sql.SQL("COMMENT ON DATABASE {} IS {}").format(name, sql.Literal(self.label))
            )
        self._created = True

    def sessions(self) -> int:
        """PostgreSQL sessions open on the database now."""
        with self._admin() as conn:
            row = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (self.name,)
            ).fetchone()
        return int(row[0]) if row else 0

    def drop(self) -> None:
        """Drop our database, and only ours: the label says whose it is. Never raises."""
        if not self._created:
            return
        try:
            if "django" in sys.modules:
                from django.db import connections

                connections.close_all()
            from psycopg import sql

            with self._admin() as conn:
                row = conn.execute(
                    "SELECT shobj_description(oid, 'pg_database') FROM pg_database"
                    " WHERE datname = %s",
                    (self.name,),
                ).fetchone()
                if row and row[0] == self.label:
                    conn.execute(
                        sql.SQL("DROP DATABASE {} WITH (FORCE)").format(sql.Identifier(self.name))
                    )
                elif row:
                    print(f"left {self.name}: another run replaced it", file=sys.stderr)
        except Exception as exc:
            print(f"could not drop database {self.name}: {exc}", file=sys.stderr)

    def close(self) -> None:
        """Release the lock (the database itself stays unless ``drop()`` ran)."""
        if self._lock is not None:
            self._lock.close()
            self._lock = None
