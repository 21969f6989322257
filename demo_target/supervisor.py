"""Run the demo application from the deploy folder's ``current`` release; restart it on SIGHUP.

    python -m demo_target.supervisor --deploy-dir DIR [--port 8081]

The supervisor writes its pid to ``DIR/supervisor.pid`` and runs the application
as a child process started from ``DIR/current`` (resolved when the child starts,
so a process reports the release it was started from, not what was deployed
since). Signals:

* ``SIGHUP``: restart the application: the child is stopped (TERM, then KILL
  after 5 s) and a new one started from whatever ``current`` points at now.
  This is what MIG-002's "Deploy previous version" and "Restart services" send
  (``kill -HUP "$(cat supervisor.pid)"``), then wait for ``GET /version`` to
  show a new pid.
* ``SIGTERM`` / ``SIGINT``: stop the child, remove the pid file, exit.

A child that dies on its own is started again after a second. Why a supervisor
rather than the step starting the process: Ripcord stops everything a shell step
leaves running when the step ends (a step owns what it starts), so a
long-running application must belong to something else, as it would to systemd
or docker elsewhere. The database comes from ``TARGET_DATABASE_URL``.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from demo_target import app
from demo_target.environment import DEFAULT_TARGET_DATABASE_URL
from demo_target.releases import PID_FILE, current_release, release_version

STOP_GRACE_SECONDS = 5.0
RESPAWN_DELAY_SECONDS = 1.0
TICK = 0.05
PACKAGE_ROOT = Path(__file__).resolve().parent.parent  # where ``-m demo_target...`` imports from
logger = logging.getLogger("demo_target.supervisor")


class Supervisor:
    def __init__(self, deploy_dir: Path, port: int) -> None:
        self.deploy_dir = deploy_dir
        self.port = port
        self.pid_file = deploy_dir / PID_FILE
        self.child: subprocess.Popen[bytes] | None = None
        self.restart_requested = False
        self.stopping = False

    def on_hup(self, signum: int, frame: FrameType | None) -> None:
        self.restart_requested = True

    def on_stop(self, signum: int, frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        signal.signal(signal.SIGHUP, self.on_hup)
        signal.signal(signal.SIGTERM, self.on_stop)
        signal.signal(signal.SIGINT, self.on_stop)
        write_pid_file(self.pid_file, os.getpid())
        try:
            self.start_child()
            while not self.stopping:
                if self.restart_requested:
                    self.restart_requested = False
                    logger.info("SIGHUP: restarting the application")
                    self.stop_child()
                    self.start_child()
                elif self.child is None or self.child.poll() is not None:
                    code = None if self.child is None else self.child.returncode
                    logger.warning("the application exited (%s); starting it again", code)
                    self.child = None
                    self.pause(RESPAWN_DELAY_SECONDS)
                    if not self.stopping and not self.restart_requested:
                        self.start_child()
                time.sleep(TICK)
        finally:
            self.stop_child()
            with contextlib.suppress(OSError, ValueError):
                if int(self.pid_file.read_text()) == os.getpid():
                    self.pid_file.unlink()
        return 0

    def pause(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not (self.stopping or self.restart_requested):
            time.sleep(TICK)

    def start_child(self) -> None:
        release = current_release(self.deploy_dir)
        if release is None:
            logger.error("nothing deployed: %s/current is missing", self.deploy_dir)
            self.child = None
            return
        argv = [sys.executable, "-m", "demo_target.supervisor", "--serve-release", str(release)]
        argv += ["--port", str(self.port)]
        self.child = subprocess.Popen(argv, cwd=PACKAGE_ROOT)
        logger.info("started the application from %s (pid %s)", release, self.child.pid)

    def stop_child(self) -> None:
        child, self.child = self.child, None
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            child.wait(timeout=STOP_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def write_pid_file(path: Path, pid: int) -> None:
    """Write atomically (a reader never sees an empty or half-written file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{pid}")
    partial.write_text(f"{pid}\n")
    partial.replace(path)


def read_pid(deploy_dir: Path) -> int | None:
    try:
        return int((deploy_dir / PID_FILE).read_text())
    except (OSError, ValueError):
        return None


def restart(deploy_dir: Path) -> None:
    """Ask the running supervisor to restart the application (what the scripts do in shell)."""
    pid = read_pid(deploy_dir)
    if pid is None:
        raise ProcessLookupError(f"no supervisor pid in {deploy_dir / PID_FILE}")
    os.kill(pid, signal.SIGHUP)


def spawn(
    deploy_dir: Path, port: int, *, dsn: str, log_file: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a supervisor process (a session of its own) for bin/demo and tests."""
    env = {**os.environ, "TARGET_DATABASE_URL": dsn, "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "demo_target.supervisor", "--deploy-dir", str(deploy_dir)]
    argv += ["--port", str(port)]
    with contextlib.ExitStack() as stack:
        out = stack.enter_context(log_file.open("ab")) if log_file else None
        return subprocess.Popen(
            argv,
            cwd=PACKAGE_ROOT,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT if out else None,
            start_new_session=True,
        )


@dataclass
class SupervisedProcess:
    """A supervisor started by ``start`` (bin/demo): its url, and how to stop it with its app."""

    process: subprocess.Popen[bytes]
    url: str

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=STOP_GRACE_SECONDS * 2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def start(deploy_dir: Path, port: int, *, dsn: str, log_file: Path) -> SupervisedProcess:
    """Spawn a supervisor on ``port`` (0: a free one); OSError if the port is taken."""
    with socket.socket() as probe:  # the child would fail to bind again and again
        probe.bind((app.HOST, port))
        port = probe.getsockname()[1]
    log_file.parent.mkdir(parents=True, exist_ok=True)
    process = spawn(deploy_dir, port, dsn=dsn, log_file=log_file)
    return SupervisedProcess(process, f"http://{app.HOST}:{port}")


def serve_release(release: Path, port: int) -> None:
    dsn = os.environ.get("TARGET_DATABASE_URL") or DEFAULT_TARGET_DATABASE_URL
    server = app.DemoAppServer(dsn, port, release_version(release))
    # TERM from the supervisor: stop serving and exit normally.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    logger.info("serving %s on %s", server.version["version"], server.url)
    with server, contextlib.suppress(KeyboardInterrupt, SystemExit):
        server.serve_forever()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m demo_target.supervisor")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--deploy-dir", type=Path, help="supervise the app of this deploy folder")
    where.add_argument("--serve-release", type=Path, help=argparse.SUPPRESS)  # the child
    parser.add_argument("--port", type=int, default=app.DEFAULT_PORT)
    options = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    if options.serve_release:
        serve_release(options.serve_release, options.port)
        return 0
    return Supervisor(options.deploy_dir, options.port).run()


if __name__ == "__main__":
    sys.exit(main())
