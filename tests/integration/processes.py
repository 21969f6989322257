"""Real processes for integration tests: an ASGI server and a Celery worker.

They run against the test database (committed data only: use transactional
tests) and real Redis, with settings from the environment exactly as in
production. Each run gets its own Redis key prefix and broker database so
parallel runs on one machine do not hear each other.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]
RUN_ID = uuid.uuid4().hex[:8]
BROKER_URL = "redis://127.0.0.1:6379/9"
BROKER_PREFIX = f"ripcord-test-{RUN_ID}:"
REDIS_URL = "redis://127.0.0.1:6379/0"
CHANNEL_PREFIX = f"ripcord-test-{RUN_ID}"


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url_for_tests() -> str:
    db = connection.settings_dict
    user = db.get("USER") or "postgres"
    host = db.get("HOST") or "127.0.0.1"
    port = db.get("PORT") or 5432
    return f"postgres://{user}@{host}:{port}/{db['NAME']}"


@contextlib.contextmanager
def sending_to(broker_url: str, prefix: str) -> Iterator[None]:
    """Tasks this process sends go to ``broker_url`` under ``prefix`` (as the workers' do)."""
    from config.celery import app

    before = app.conf.broker_url, app.conf.broker_transport_options
    app.conf.broker_url = broker_url  # type: ignore[misc]  # writable at run time
    app.conf.broker_transport_options = {
        **app.conf.broker_transport_options,
        "global_keyprefix": prefix,
    }
    # The app keeps the connection and producer pools of the broker it first used: an earlier
    # test that sent a task on another broker would make these sends vanish there.
    _forget_broker_connections()
    try:
        yield
    finally:
        app.conf.broker_url, app.conf.broker_transport_options = before  # type: ignore[misc]
        _forget_broker_connections()


def _forget_broker_connections() -> None:
    """Drop the app's cached connection and producer pools (Celery does so in a forked child)."""
    from config.celery import app

    app._pool = None  # type: ignore[attr-defined]  # private: no public way to switch brokers
    app.amqp._producer_pool = None  # type: ignore[attr-defined]


def service_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url_for_tests(),
        REDIS_URL=REDIS_URL,
        CELERY_BROKER_URL=BROKER_URL,
        RIPCORD_CHANNEL_PREFIX=CHANNEL_PREFIX,
        RIPCORD_BROKER_PREFIX=BROKER_PREFIX,
        # The test process's key: sessions it signs in (session_cookie) are signed and
        # hashed with it, and a server with another key would treat them as anonymous.
        SECRET_KEY=settings.SECRET_KEY,
        RIPCORD_DEMO="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole process group: what a crashed host looks like to everyone else."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


_spawned = itertools.count(1)


def _spawn(name: str, argv: list[str], env: dict[str, str], log_dir: Path) -> Process:
    log_dir.mkdir(parents=True, exist_ok=True)
    # One file per process: two workers alive at once used to truncate and overwrite one
    # shared file, so a readiness check could read another worker's lines.
    log_path = log_dir / f"{name}-{RUN_ID}-{next(_spawned)}.log"
    log = log_path.open("wb")
    # Its own process group, so a test can kill the whole thing (a crash) at once.
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    return Process(name, proc, log_path)


def collect_static(env: dict[str, str]) -> None:
    """Gather static files into STATIC_ROOT, as the Dockerfile does for production.

    With production settings WhiteNoise serves only collected files; without
    this step pages load without CSS, htmx or live.js.
    """
    argv = [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity", "0"]
    done = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"collectstatic failed:\n{done.stdout}{done.stderr}")


def ws_deflate() -> bool:
    """Whether servers started here compress websocket messages: off, as in production,
    unless ``UVICORN_WS_PER_MESSAGE_DEFLATE=true`` is set (the benches' floors follow it)."""
    return os.environ.get("UVICORN_WS_PER_MESSAGE_DEFLATE", "false").lower() in {"1", "true"}


def start_server(log_dir: Path, **env: str) -> Process:
    port = free_port()
    env.setdefault("UVICORN_WS_PER_MESSAGE_DEFLATE", "true" if ws_deflate() else "false")
    collect_static(service_env(**env))
    argv = [
        sys.executable,
        "-m",
        "uvicorn",
        "config.asgi:application",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    server = _spawn("uvicorn", argv, service_env(**env), log_dir)
    server.url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        if server.proc.poll() is not None:
            raise RuntimeError(f"server exited:\n{server.log()}")
        try:
            with urllib.request.urlopen(server.url + "/accounts/login/", timeout=1) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    wait_for(ready, timeout=30, what="the ASGI server")
    return server


def start_worker(
    log_dir: Path, *, queues: str = "default", concurrency: str | None = "1", **env: str
) -> Process:
    """A real Celery worker process (prefork), ready when it says so.

    One pool process unless ``concurrency`` says otherwise; ``None`` leaves it to the
    settings, as compose.yaml's worker does.
    """
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--loglevel",
        "INFO",
        *(["--concurrency", concurrency] if concurrency is not None else []),
        "--prefetch-multiplier",
        "1",
        "-Q",
        queues,
        "--hostname",
        f"test-{RUN_ID}-{uuid.uuid4().hex[:4]}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    worker = _spawn("celery", argv, service_env(**env), log_dir)

    def ready() -> bool:
        if worker.proc.poll() is not None:
            raise RuntimeError(f"worker exited:\n{worker.log()}")
        return " ready." in worker.log()

    wait_for(ready, timeout=40, what="the Celery worker")
    return worker


def start_beat(log_dir: Path, **env: str) -> Process:
    """Beat embedded in the worker of the control queue, as compose.yaml's beat service runs it.

    The periodic tasks are routed to that queue, so beat alone would send sweeps nobody runs.
    """
    schedule = log_dir / f"beat-schedule-{RUN_ID}"
    argv = [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "config",
        "worker",
        "--beat",
        "--schedule",
        str(schedule),
        "--loglevel",
        "INFO",
        "--concurrency",
        "1",
        "-Q",
        settings.RIPCORD_CONTROL_QUEUE,
        "--hostname",
        f"control-{RUN_ID}-{uuid.uuid4().hex[:4]}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    beat = _spawn("beat", argv, service_env(**env), log_dir)

    def ready() -> bool:
        if beat.proc.poll() is not None:
            raise RuntimeError(f"beat exited:\n{beat.log()}")
        log = beat.log()
        return "beat: Starting" in log and " ready." in log

    wait_for(ready, timeout=40, what="Celery beat and the control worker")
    return beat
