"""The demo application run as MIG-002's steps expect it: a supervisor process over a deploy folder.

Shared by the demo target's tests and the integration tests that run MIG-002's
application steps on a worker.
"""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from demo_target import supervisor
from demo_target.releases import BAD_TAG, create_repository, deploy


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get_json(url: str) -> tuple[int, Any]:
    """(status, body) of a GET; (0, None) when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status), json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


@dataclass
class SupervisedApp:
    url: str
    repo_dir: Path
    deploy_dir: Path
    process: subprocess.Popen[bytes]
    log_file: Path

    def version(self) -> dict[str, Any] | None:
        status, body = get_json(f"{self.url}/version")
        return body if status == 200 else None

    def wait_version(
        self, tag: str, *, not_pid: int | None = None, timeout: float = 30
    ) -> dict[str, Any]:
        """Wait until a process other than ``not_pid`` answers reporting ``tag``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the supervisor exited:\n{self.log()}")
            now = self.version()
            if now and now["version"] == tag and now["pid"] != not_pid:
                return now
            time.sleep(0.05)
        raise TimeoutError(f"the app did not report {tag} within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        return self.log_file.read_text(errors="replace")[-4000:]


@contextlib.contextmanager
def supervised_app(work: Path, dsn: str) -> Iterator[SupervisedApp]:
    """The todo app's repository and deploy folder under ``work``, v1.5.0 deployed and running."""
    repo, deploy_dir = work / "todo-app", work / "todo-app-deploy"
    create_repository(repo)
    deploy(repo, deploy_dir, BAD_TAG)
    port = free_port()
    log_file = work / "supervisor.log"
    process = supervisor.spawn(deploy_dir, port, dsn=dsn, log_file=log_file)
    running = SupervisedApp(f"http://127.0.0.1:{port}", repo, deploy_dir, process, log_file)
    try:
        running.wait_version(BAD_TAG)
        yield running
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
