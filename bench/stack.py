"""The production stack as real processes, for benchmarks run by hand.

A benchmark gets its own PostgreSQL database (dropped and created again, migrated
with ``manage.py migrate``), its own Redis key prefixes, a uvicorn process and a
Celery worker (prefork, one child, prefetch 1) configured only through the
environment, exactly as in production. Everything binds to 127.0.0.1.

Everything started here stops by itself: ``Stack`` is a context manager that
stops its processes, drops its database and deletes its Redis keys on the way
out, whether the benchmark finished, failed, hit its deadline (SIGALRM) or was
interrupted (Ctrl-C, SIGTERM). The children also get SIGTERM from the kernel if
this process dies without cleaning up (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import math
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

from bench.database import BenchBusy, BenchDatabase

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
REDIS_URL = "redis://127.0.0.1:6379/0"  # channel layer, as in production
BROKER_URL = "redis://127.0.0.1:6379/10"  # the tests use 9
PR_SET_PDEATHSIG = 1


class BenchTimeout(Exception):
    """The benchmark ran past its deadline."""


def wait_for(
    condition: Callable[[], bool], *, timeout: float, what: str, interval: float = 0.05
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def relay_argv(port: int, redis_url: str, channel: str) -> list[str]:
    """The floor relay's command (bench/relay.py), compressing as Ripcord's server does."""
    from tests.integration.processes import ws_deflate  # after django.setup()

    argv = [sys.executable, str(ROOT / "bench" / "relay.py"), "--port", str(port)]
    argv += ["--redis-url", redis_url, "--channel", channel]
    return argv + (["--deflate"] if ws_deflate() else [])


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kb(pid: int) -> int | None:
    """Resident set size of ``pid`` in kB (VmRSS), or None once it is gone."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        return None
    return None


def children_of(pid: int) -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue
        if int(stat[stat.rfind(")") + 2 :].split()[1]) == pid:
            found.append(int(entry.name))
    return found


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile: the smallest value with at least p% of values at or below it."""
    ordered = sorted(values)
    rank = max(1, math.ceil(p / 100 * len(ordered)))
    return ordered[rank - 1]


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGTERM when the bench process dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)


@dataclass
class Process:
    name: str
    proc: subprocess.Popen[bytes]
    log_path: Path
    url: str = ""

    @property
    def pid(self) -> int:
        return self.proc.pid

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        """TERM its process group, KILL it after a grace."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        with contextlib.suppress(ProcessLookupError):  # a pool child left behind
            os.killpg(self.proc.pid, signal.SIGKILL)


class Stack:
    """Database, Redis prefixes, processes and this process's Django, for one benchmark."""

    def __init__(self, name: str, *, deadline_seconds: int, keep: bool = False) -> None:
        self.name = name
        self.run_id = uuid.uuid4().hex[:8]
        self.database = f"ripcord_bench_{name}"
        self.db = BenchDatabase(self.database, run_id=self.run_id)
        self.database_url = self.db.url
        self.prefix = f"ripcord-bench-{name}-{self.run_id}"
        self.secret_key = secrets.token_urlsafe(40)
        self.deadline_seconds = deadline_seconds
        self.keep = keep
        self.work = Path(tempfile.mkdtemp(prefix=f"ripcord-bench-{name}-"))
        self.processes: list[Process] = []
        self._previous_handlers: dict[int, Any] = {}

    # --- lifetime ---------------------------------------------------------------

    def __enter__(self) -> Stack:
        def on_alarm(signum: int, frame: FrameType | None) -> None:
            raise BenchTimeout(f"{self.name}: deadline of {self.deadline_seconds}s passed")

        def on_term(signum: int, frame: FrameType | None) -> None:
            raise KeyboardInterrupt(f"signal {signum}")

        self._previous_handlers = {
            signal.SIGALRM: signal.signal(signal.SIGALRM, on_alarm),
            signal.SIGTERM: signal.signal(signal.SIGTERM, on_term),
        }
        signal.alarm(self.deadline_seconds)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        signal.alarm(0)
        failed = exc_type is not None and not issubclass(exc_type, BenchBusy)
        if failed:
            for process in self.processes:
                print(f"\n--- last lines of {process.name} ({process.log_path}) ---")
                with contextlib.suppress(OSError):
                    print("\n".join(process.log().splitlines()[-30:]))
        for process in reversed(self.processes):
            try:
                process.stop()
            except Exception as stop_error:  # keep cleaning up
                print(f"could not stop {process.name}: {stop_error}", file=sys.stderr)
        self.db.drop()
        self.db.close()
        self._delete_redis_keys()
        if self.keep or failed:
            print(f"(logs kept in {self.work})")
        else:
            shutil.rmtree(self.work, ignore_errors=True)
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler)

    # --- environment and Django ------------------------------------------------------

    def env(self, **extra: str) -> dict[str, str]:
        """The production settings, from the environment only."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=self.database_url,
            REDIS_URL=REDIS_URL,
            CELERY_BROKER_URL=BROKER_URL,
            RIPCORD_CHANNEL_PREFIX=self.prefix,
            RIPCORD_BROKER_PREFIX=f"{self.prefix}:",
            RIPCORD_VAR_DIR=str(self.work / "var"),
            SECRET_KEY=self.secret_key,
            RIPCORD_DEMO="0",
            DEBUG="0",
            ALLOWED_HOSTS="127.0.0.1",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def prepare(self) -> None:
        """Create and migrate the database, then set this process up with the same settings."""
        self.db.create()
        migrate = subprocess.run(
            [PYTHON, "manage.py", "migrate", "--noinput", "--verbosity", "0"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        if migrate.returncode != 0:
            raise RuntimeError(f"migrate failed:\n{migrate.stdout}{migrate.stderr}")
        os.environ.update(self.env())
        # WhiteNoise's note that collectstatic never ran: the benches serve no static files.
        warnings.filterwarnings("ignore", message="No directory at")
        import django

        django.setup()

    def _delete_redis_keys(self) -> None:
        import redis

        for url in (REDIS_URL, BROKER_URL):
            try:
                client = redis.Redis.from_url(url, socket_timeout=5)
                keys = list(client.scan_iter(match=f"{self.prefix}*", count=1000))
                if keys:
                    client.delete(*keys)
                client.close()
            except Exception as exc:
                print(f"could not clean Redis {url}: {exc}", file=sys.stderr)

    # --- processes -------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> Process:
        log_path = self.work / f"{name}.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own group: stopped as a whole
                preexec_fn=_die_with_parent,
            )
        process = Process(name, proc, log_path)
        self.processes.append(process)
        return process

    def start_server(self, **env: str) -> Process:
        port = free_port()
        argv = [
            PYTHON,
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
        server = self._spawn("uvicorn", argv, self.env(**env))
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

    def start_worker(self, *, include: Sequence[str] = (), **env: str) -> Process:
        """A Celery worker as in production: prefork, one child, prefetch 1, queue "default"."""
        argv = [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--loglevel",
            "INFO",
            "--pool",
            "prefork",
            "--concurrency",
            "1",
            "--prefetch-multiplier",
            "1",
            "-Q",
            "default",
            "--hostname",
            f"bench-{self.name}-{self.run_id}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ]
        for module in include:
            argv += ["--include", module]
        worker = self._spawn("celery", argv, self.env(**env))

        def ready() -> bool:
            if worker.proc.poll() is not None:
                raise RuntimeError(f"worker exited:\n{worker.log()}")
            return " ready." in worker.log()

        wait_for(ready, timeout=40, what="the Celery worker")
        return worker

    def wait_worker_idle(self, worker: Process, *, timeout: float) -> None:
        """Until the broker queue is empty and the worker has finished every task it took.

        Opening an incident queues tasks of its own (preflight, snapshot): a measurement
        must not start behind them.
        """
        import redis

        client = redis.Redis.from_url(BROKER_URL, socket_timeout=5)

        def idle() -> bool:
            log = worker.log()
            taken = log.count("] received")
            done = sum(log.count(word) for word in ("] succeeded in ", "] raised ", "] failed"))
            return bool(client.llen(f"{self.prefix}:default") == 0 and taken == done)

        try:
            wait_for(idle, timeout=timeout, what="the worker to be idle", interval=0.2)
            time.sleep(0.2)  # its ack and the next poll of the broker
        finally:
            client.close()

    def use_broker(self) -> None:
        """Point this process's Celery app at the workers' broker and prefix (from settings)."""
        from config.celery import app

        assert app.conf.broker_url == BROKER_URL, app.conf.broker_url
        assert app.conf.broker_transport_options["global_keyprefix"] == f"{self.prefix}:"


def session_cookie(user: Any) -> str:
    """A signed-in session for ``user`` in the bench database, as the sessionid value."""
    from django.test import Client

    client = Client()
    client.force_login(user)
    return str(client.cookies["sessionid"].value)


def make_user(username: str, group: str) -> Any:
    from django.contrib.auth.models import Group, User

    user = User.objects.create_user(username=username, password=secrets.token_urlsafe(16))
    user.groups.add(Group.objects.get_or_create(name=group)[0])
    return user


def one_step_spec(
    slug: str, command: dict[str, Any], variables: dict[str, str], **step: Any
) -> dict[str, Any]:
    """A runbook of one shell step ("act", environment "lab"): the benches' scripted step."""
    return {
        "id": slug,
        "title": f"Benchmark {slug}",
        "roles": [{"id": "system_administrator", "title": "System administrator"}],
        "environments": [{"id": "lab", "title": "Lab", "variables": variables}],
        "phases": [
            {
                "id": "only",
                "title": "Only",
                "starts_at_minutes": 0,
                "ends_at_minutes": 30,
                "steps": [
                    {
                        "id": "act",
                        "title": "Run the script",
                        "owner": "system_administrator",
                        "kind": "shell",
                        "command": command,
                        "idempotent": True,
                        **step,
                    }
                ],
            }
        ],
    }


def write_runbook(folder: Path, *, slug: str, script: str, variables: dict[str, str]) -> Path:
    """A one-step shell runbook (environment "lab"), its script beside it like a real one."""
    import yaml

    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "scripts" / "step.sh").write_text(script)
    spec = one_step_spec(
        slug, {"script": "scripts/step.sh"}, variables, queue="default", timeout_seconds=300
    )
    path = folder / "runbook.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    from django.core.management import call_command

    call_command("load_runbooks", str(folder), verbosity=0, stdout=io.StringIO())
    return path


def open_incident(api: Any, slug: str, title: str) -> tuple[int, int]:
    """Open an incident of ``slug`` in "lab" through the API; (incident id, the step's id)."""
    created = api.post(
        "/incidents",
        {
            "runbook": slug,
            "environment": "lab",
            "title": title,
            "severity": "sev3",
            "is_drill": True,
        },
    )
    if created.status_code != 201:
        raise RuntimeError(f"opening an incident failed: {created.status_code} {created.body!r}")
    incident = created.json()
    step = next(s["id"] for p in incident["phases"] for s in p["steps"] if s["key"] == "act")
    return int(incident["id"]), int(step)
