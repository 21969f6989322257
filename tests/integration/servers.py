"""A Redis and a PostgreSQL of the test's own, to stop and start under a running stack.

The machine's shared services (127.0.0.1:6379 and :5432) serve every other test and
engineer: a fault test never touches them. These run on free ports from folders of
their own and are thrown away at the end.

- ``RedisServer``: ``redis-server`` in the foreground, without persistence, so a restart
  loses every key, the broker's queues and unacknowledged messages included (the
  harsher case for a worker).
- ``PostgresCluster``: ``initdb`` + ``pg_ctl`` (as the ``postgres`` user when run as
  root: PostgreSQL refuses to run as root), trust authentication on 127.0.0.1 only.
  ``stop`` is a fast shutdown: every session is terminated, as in a restart.

``missing_binaries`` names what is not installed, so the tests can skip outside CI.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import redis
from django.db import connections

from tests.integration.processes import free_port, wait_for


def _postgres_bin(name: str) -> str | None:
    """``name`` from PATH, else from the newest /usr/lib/postgresql/*/bin (Debian's layout)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_version_key)
    return candidates[-1] if candidates else None


def _version_key(path: str) -> int:
    part = Path(path).parts[-3]
    return int(part) if part.isdigit() else 0


def missing_binaries() -> list[str]:
    wanted = {"redis-server": shutil.which("redis-server")}
    for name in ("initdb", "pg_ctl", "pg_dump", "pg_restore"):
        wanted[name] = _postgres_bin(name)
    return [name for name, path in wanted.items() if path is None]


class RedisServer:
    """One redis-server on a free port of 127.0.0.1; ``stop``/``start`` keep the port."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> RedisServer:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(self.folder),
        ]
        log = (self.folder / "redis.log").open("ab")
        self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        wait_for(self.answers, timeout=20, what=f"redis-server on port {self.port}")
        return self

    def answers(self) -> bool:
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.RedisError:
            return False

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        """A clean shutdown (SIGTERM), after which nothing answers on the port."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None
        wait_for(
            lambda: not self.answers(), timeout=10, what=f"redis-server on {self.port} to stop"
        )

    def close(self) -> None:
        """Stop it if it runs, whatever state a test left it in."""
        with contextlib.suppress(Exception):
            self.stop()


class PostgresCluster:
    """A PostgreSQL cluster of its own on a free port; ``stop``/``start`` keep its data."""

    def __init__(self) -> None:
        self.port = free_port()
        # Not under pytest's tmp_path: its parents are private to root, and the server may
        # run as the postgres user.
        self.folder = Path(tempfile.mkdtemp(prefix="ripcord-faults-pg-"))
        self.data = self.folder / "data"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            shutil.chown(self.folder, "postgres", "postgres")

    def _run(self, *argv: str, timeout: float = 120) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        done = subprocess.run(
            prefix + list(argv), capture_output=True, text=True, timeout=timeout, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(argv)} failed:\n{done.stdout}{done.stderr}")

    def url(self, name: str) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{name}"

    def create(self) -> PostgresCluster:
        initdb = _postgres_bin("initdb")
        assert initdb is not None
        self._run(initdb, "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8")
        return self

    def start(self) -> None:
        pg_ctl = _postgres_bin("pg_ctl")
        assert pg_ctl is not None
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        log = str(self.folder / "postgres.log")
        self._run(pg_ctl, "-D", str(self.data), "-l", log, "-o", options, "-w", "start")

    def stop(self) -> None:
        """A fast shutdown: every session is terminated, as a restart does."""
        pg_ctl = _postgres_bin("pg_ctl")
        assert pg_ctl is not None
        self._run(pg_ctl, "-D", str(self.data), "-m", "fast", "-w", "stop")

    def copy_database(self, source_url: str, name: str) -> None:
        """Create ``name`` here as a copy of the database at ``source_url`` (schema and rows)."""
        self._psql_admin(f'CREATE DATABASE "{name}"')
        dump = subprocess.run(
            ["pg_dump", "--format=custom", "--no-owner", "--dbname", source_url],
            capture_output=True,
            check=True,
            timeout=120,
        ).stdout
        subprocess.run(
            ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", self.url(name)],
            input=dump,
            capture_output=True,
            check=True,
            timeout=120,
        )

    def _psql_admin(self, sql: str) -> None:
        with psycopg.connect(self.url("postgres"), autocommit=True) as conn:
            conn.execute(sql.encode())

    def destroy(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def database_moved_to(port: int) -> Iterator[None]:
    """This process's default database, same name, on the server at 127.0.0.1:``port`` meanwhile.

    The settings dict is shared by every thread's connection, so connections opened from
    here on, in any thread, go there; the ones already open are closed first.
    """
    settings_dict = connections["default"].settings_dict
    before = dict(settings_dict)
    connections.close_all()
    settings_dict.update(HOST="127.0.0.1", PORT=port)
    try:
        yield
    finally:
        connections.close_all()
        settings_dict.clear()
        settings_dict.update(before)
