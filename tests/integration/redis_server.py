"""A redis-server of a test's own, on a free port: stopped and started again at will.

Fault tests stop Redis under a running system; they must never touch the machine's
shared Redis (6379), which every other test run uses. Nothing is persisted: a start
after a stop is an empty Redis on the same port, as after a crash of a cache-only one.
"""

from __future__ import annotations

import contextlib
import subprocess
from pathlib import Path

import redis

from tests.integration.processes import free_port, wait_for


class RedisServer:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        self.folder = folder
        self.log_path = folder / f"redis-{self.port}.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _answers(self) -> bool:
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self) -> None:
        assert self.proc is None, "already running"
        self.folder.mkdir(parents=True, exist_ok=True)
        argv = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1"]
        argv += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        wait_for(self._answers, timeout=10, what=f"redis-server on port {self.port}")

    def stop(self) -> None:
        """Stop it (SIGTERM) and wait until the port no longer answers."""
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None
        wait_for(lambda: not self._answers(), timeout=10, what="redis-server to stop")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.stop()
