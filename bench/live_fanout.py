"""Live-update fan-out benchmark: how long until every viewer of an incident sees a change.

Run by hand from the repository root (PostgreSQL and Redis on 127.0.0.1, see bin/services):

    .venv/bin/python bench/live_fanout.py [--sizes 50,200,500] [--events 30]

For each N it measures two designs in the same run, with the same N clients:

* ``ripcord``: one uvicorn process serving ``config.asgi:application`` in the
  production configuration (PostgreSQL, Redis pub/sub channel layer). N websocket
  viewers sit on one incident; the bench ticks or reopens a step through the API
  and times from the moment the API call returned to the moment each viewer got
  the step's fragment with the new ``data-state``.
* ``floor``: a bare Redis pub/sub → websocket relay (bench/relay.py) to N clients;
  the bench PUBLISHes a payload of the same size and times from PUBLISH's return.

The viewers live in one separate client process (bench/viewers.py). Receipt and
start times are ``time.monotonic()`` (CLOCK_MONOTONIC, one clock for every process
on the machine). Everything the bench starts is stopped at the end, on Ctrl-C,
on an error, or when ``--max-seconds`` runs out; the bench database is dropped
unless ``--keep-db``.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import re
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchBusy, BenchDatabase, migrate, use_database
from bench.fanout_results import Event, Trial, report
from bench.stack import ROOT, children_of, free_port, relay_argv, rss_kb, wait_for

PYTHON = sys.executable
SECRET_KEY = "bench-" + secrets.token_urlsafe(32)
RUN = secrets.token_hex(4)
PREFIX = f"bench-{RUN}"
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- small helpers ----------------------------------------------------------


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds used so far by the process (its threads included) and by
    its live children (uvicorn's worker processes with ``--workers``)."""
    total = 0.0
    for one in [pid, *children_of(pid)]:
        try:
            stat = Path(f"/proc/{one}/stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        total += (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime, stime
    return total


def proc_rss_mb(pid: int) -> float:
    """Resident memory of the process and its children, MB."""
    kb = [rss_kb(one) for one in [pid, *children_of(pid)]]
    return sum(k for k in kb if k is not None) / 1024


class Child:
    """A process the bench started: stopped politely, then killed, always waited for."""

    def __init__(self, name: str, proc: subprocess.Popen[str], log_path: Path) -> None:
        self.name, self.proc, self.log_path = name, proc, log_path

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def spawn(name: str, argv: list[str], log_dir: Path, *, pipes: bool = False) -> Child:
    log_path = log_dir / f"{name}.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdin=subprocess.PIPE if pipes else subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipes else log,
            stderr=log,
            text=True,
            # Its own session: Ctrl-C reaches the bench only, which stops children in order.
            start_new_session=True,
        )
    return Child(name, proc, log_path)


class ViewerProcess:
    """bench/viewers.py, spoken to in JSON lines with a timeout on every answer."""

    def __init__(self, log_dir: Path) -> None:
        self.child = spawn(
            "viewers", [PYTHON, str(ROOT / "bench" / "viewers.py")], log_dir, pipes=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        stdout = self.child.proc.stdout
        assert stdout is not None
        for line in stdout:
            self.lines.put(line)

    def call(self, cmd: dict[str, Any], *, timeout: float) -> dict[str, Any]:
        stdin = self.child.proc.stdin
        assert stdin is not None
        stdin.write(json.dumps(cmd) + "\n")
        stdin.flush()
        try:
            reply: dict[str, Any] = json.loads(self.lines.get(timeout=timeout))
        except queue.Empty:
            raise TimeoutError(
                f"viewers did not answer {cmd['op']!r} in {timeout}s:\n{self.child.log_tail()}"
            ) from None
        if "error" in reply:
            raise RuntimeError(f"viewers: {reply['error']}")
        return reply

    def stop(self) -> None:
        if self.child.alive():
            with suppress(OSError, TimeoutError, ValueError):
                self.call({"op": "quit"}, timeout=30)
        self.child.stop()


# --- the Ripcord side: database, data, server -------------------------------


@dataclass
class Scene:
    incident_id: int
    step_ids: list[int]
    token: str
    view_cookies: list[str]
    act_cookies: list[str]


def build_scene(*, n_steps: int, view_users: int, act_users: int) -> Scene:
    """Users, a runbook of ``n_steps`` manual steps, an open incident, a token, sessions.

    Runs in this process through Django, on the bench database (set in the
    environment before ``django.setup()``).
    """
    import django

    django.setup()
    from django.contrib.auth.models import Group, User
    from django.db import connections
    from django.test import Client

    from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
    from common.tokens import create_token
    from incidents import services
    from tests.factories import make_version, spec_with_steps

    def user(name: str, group: str) -> User:
        u = User.objects.create_user(username=name)  # no password: sessions are made below
        u.groups.add(Group.objects.get_or_create(name=group)[0])
        return u

    def cookie(u: User) -> str:
        client = Client()
        client.force_login(u)
        morsel = client.cookies["sessionid"]
        return f"{morsel.key}={morsel.value}"

    ic = user("bench-ic", COMMANDERS)
    pms = [user(f"bench-pm{i}", VIEWERS) for i in range(view_users)]
    responders = [user(f"bench-responder{i}", RESPONDERS) for i in range(act_users)]
    version = make_version(spec_with_steps(n_steps))
    incident = services.open_incident(
        version=version,
        environment="staging",
        title="Fan-out benchmark",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    step_ids = list(incident.steps.order_by("position").values_list("pk", flat=True))
    _, raw_token = create_token(ic, "fan-out bench")
    scene = Scene(
        incident_id=incident.pk,
        step_ids=step_ids,
        token=raw_token,
        view_cookies=[cookie(u) for u in pms],
        act_cookies=[cookie(u) for u in responders],
    )
    connections.close_all()
    return scene


def api_post(base_url: str, path: str, token: str) -> int:
    request = urllib.request.Request(
        base_url + path,
        method="POST",
        data=b"",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
        return int(response.status)


# --- measuring ----------------------------------------------------------------


def measure(
    viewers: ViewerProcess,
    trial: Trial,
    *,
    first_event: int,
    warmup: int,
    events: int,
    spacing: float,
    miss_after: float,
    pattern: Callable[[int], str],
    trigger: Callable[[int], None],
    server_pid: int,
    sample_index: int = 0,
    on_sample: Callable[[str], None] | None = None,
) -> None:
    """Warm-up events (not counted), then ``events`` isolated, timed events."""
    cpu_start = 0.0
    for k in range(warmup + events):
        event_id = first_event + k
        if k == warmup:
            cpu_start = proc_cpu_s(server_pid)
        viewers.call(
            {"op": "arm", "event": event_id, "pattern": pattern(event_id), "sample": sample_index},
            timeout=10,
        )
        t_call = time.monotonic()
        trigger(event_id)
        t0 = time.monotonic()
        reply = viewers.call(
            {"op": "collect", "event": event_id, "deadline": t0 + miss_after},
            timeout=miss_after + 30,
        )
        trial.dropped = int(reply["dropped"])
        trial.payload_bytes = max(trial.payload_bytes, int(reply["bytes"]))
        if on_sample is not None and reply["sample"]:
            on_sample(reply["sample"])
        if k >= warmup:
            trial.events.append(Event(t_call, t0, reply["times"]))
        pause = t_call + spacing - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    if events:
        trial.cpu_ms_per_event = (proc_cpu_s(server_pid) - cpu_start) * 1000 / events
    trial.rss_after_mb = proc_rss_mb(server_pid)


def connect_all(
    viewers: ViewerProcess,
    trial: Trial,
    *,
    url: str,
    origin: str,
    cookies: list[str | None],
    server_pid: int,
    timeout: float,
) -> None:
    trial.rss_idle_mb = proc_rss_mb(server_pid)
    reply = viewers.call(
        {"op": "connect", "url": url, "origin": origin, "cookies": cookies, "timeout": timeout},
        timeout=timeout + 60,
    )
    trial.connect_s = float(reply["seconds"])
    trial.connect_errors = dict(reply["errors"])


# --- output -------------------------------------------------------------------


class Deadline(Exception):
    pass


def _raise_deadline(signum: int, frame: FrameType | None) -> None:
    raise Deadline("--max-seconds ran out")


def _raise_exit(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)


@contextmanager
def guarded(max_seconds: int) -> Iterator[None]:
    """SIGTERM and the overall deadline unwind through every ``finally`` like Ctrl-C does."""
    old_term = signal.signal(signal.SIGTERM, _raise_exit)
    old_alarm = signal.signal(signal.SIGALRM, _raise_deadline)
    signal.alarm(max_seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old_alarm)
        signal.signal(signal.SIGTERM, old_term)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sizes", default="50,200,500", help="viewer counts, comma-separated")
    p.add_argument("--events", type=int, default=30, help="timed events per design and size")
    p.add_argument("--warmup", type=int, default=3, help="untimed events before them")
    p.add_argument("--spacing-ms", type=int, default=300, help="time between event starts")
    p.add_argument(
        "--miss-after", type=float, default=5.0, help="seconds before a viewer counts as missed"
    )
    p.add_argument(
        "--act-share",
        type=float,
        default=0.05,
        help="share of sockets in the act audience (at least 2)",
    )
    p.add_argument("--steps", type=int, default=300, help="manual steps in the generated runbook")
    p.add_argument(
        "--connect-timeout", type=float, default=30.0, help="per-socket handshake timeout, s"
    )
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--db-name", default="ripcord_bench")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--keep-db", action="store_true", help="leave the bench database behind")
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes (1..8)")
    p.add_argument(
        "--db-pool",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="RIPCORD_DB_POOL for the server (as compose.yaml's web)",
    )
    p.add_argument(
        "--max-seconds", type=int, default=1200, help="give up (and clean up) after this long"
    )
    args = p.parse_args(argv)
    args.size_list = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not args.size_list or min(args.size_list) < 1 or max(args.size_list) > 2000:
        p.error("--sizes: 1..2000 each")
    if not 1 <= args.workers <= 8:
        p.error("--workers: 1..8")
    if not 1 <= args.events <= 1000 or not 0 <= args.warmup <= 100:
        p.error("--events 1..1000, --warmup 0..100")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", args.db_name):
        p.error("--db-name: lower-case letters, digits, underscores")
    for url in (args.pg_admin_url, args.redis_url):
        if "127.0.0.1" not in url and "localhost" not in url:
            p.error("the bench only talks to 127.0.0.1")
    return args


def audiences_for(n: int, act_share: float) -> list[str]:
    """Mostly viewers, a few responders spread through the list."""
    n_act = min(n, max(2, round(n * act_share)))
    every = n / n_act
    act = {int(i * every) for i in range(n_act)}
    return ["act" if i in act else "view" for i in range(n)]


def run(args: argparse.Namespace) -> list[Trial]:
    log_dir = Path(tempfile.mkdtemp(prefix="ripcord-bench-"))
    print(f"logs: {log_dir}", file=sys.stderr)
    # This process's Django (set-up only) and the server share database and key.
    use_database(args.pg_admin_url, args.db_name, SECRET_KEY)

    trials: list[Trial] = []
    database = BenchDatabase(args.db_name, run_id=RUN, admin_dsn=args.pg_admin_url)
    with ExitStack() as stack:
        print(f"database {args.db_name}: recreate, migrate", file=sys.stderr)
        stack.callback(database.close)
        database.create()  # refuses (BenchBusy) while another run of this bench holds it
        if not args.keep_db:
            stack.callback(database.drop)
        migrate()
        scene = build_scene(n_steps=args.steps, view_users=20, act_users=4)

        from tests.integration.processes import start_server  # needs django.setup() first

        server = start_server(
            log_dir,
            REDIS_URL=args.redis_url,
            RIPCORD_CHANNEL_PREFIX=PREFIX,
            SECRET_KEY=SECRET_KEY,
            RIPCORD_LOG_LEVEL="WARNING",
            # As compose.yaml's web: uvicorn's worker processes, a pooled connection per request.
            WEB_CONCURRENCY=str(args.workers),
            RIPCORD_DB_POOL="1" if args.db_pool else "0",
        )
        stack.callback(server.stop)
        relay_port = free_port()
        relay = spawn("relay", relay_argv(relay_port, args.redis_url, f"{PREFIX}:floor"), log_dir)
        stack.callback(relay.stop)
        wait_for(lambda: "ready" in relay.log_tail(), timeout=20, what="the relay")
        viewers = ViewerProcess(log_dir)
        stack.callback(viewers.stop)

        import redis

        publisher = redis.Redis.from_url(args.redis_url)
        stack.callback(publisher.close)
        ws_url = server.url.replace("http://", "ws://") + f"/ws/incidents/{scene.incident_id}/"
        origin = server.url
        sample: dict[str, str] = {}
        event_counter = 0
        step_of: dict[int, tuple[int, str]] = {}  # event → (step pk, new state)
        step_state: dict[int, str] = {}  # step pk → state it is in now

        def ripcord_pattern(event_id: int) -> str:
            # Tick a step, then reopen it; the next pair takes the next step.
            pk = scene.step_ids[(event_id // 2) % len(scene.step_ids)]
            state = "done" if step_state.get(pk, "pending") == "pending" else "pending"
            step_of[event_id] = (pk, state)
            return f'id="step-{pk}"[^>]*data-state="{state}"'

        def ripcord_trigger(event_id: int) -> None:
            pk, state = step_of[event_id]
            action = "complete" if state == "done" else "reopen"
            path = f"/api/v1/incidents/{scene.incident_id}/steps/{pk}/{action}"
            status = api_post(server.url, path, scene.token)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")
            step_state[pk] = state

        def floor_payload(event_id: int) -> str:
            body = sample.get("html") or ("<p>" + "floor payload " * 150 + "</p>")
            return f'<!-- id="floor-{event_id}" -->' + body

        def keep_sample(html: str) -> None:
            sample.setdefault("html", html)

        def floor_trigger(event_id: int) -> None:
            publisher.publish(f"{PREFIX}:floor", floor_payload(event_id))

        for n in args.size_list:
            audiences = audiences_for(n, args.act_share)
            cookies: list[str | None] = []
            for i, audience in enumerate(audiences):
                pool = scene.act_cookies if audience == "act" else scene.view_cookies
                cookies.append(pool[i % len(pool)])

            # Ripcord first: its first fragment becomes the floor's payload.
            print(f"N={n}: ripcord", file=sys.stderr)
            trial = Trial("ripcord", n, audiences)
            connect_all(
                viewers,
                trial,
                url=ws_url,
                origin=origin,
                cookies=cookies,
                server_pid=server.proc.pid,
                timeout=args.connect_timeout,
            )
            measure(
                viewers,
                trial,
                first_event=event_counter,
                warmup=args.warmup,
                events=args.events,
                spacing=args.spacing_ms / 1000,
                miss_after=args.miss_after,
                pattern=ripcord_pattern,
                trigger=ripcord_trigger,
                server_pid=server.proc.pid,
                sample_index=audiences.index("view") if "view" in audiences else 0,
                on_sample=keep_sample,
            )
            event_counter += args.warmup + args.events
            trial.db_connections = database.sessions()
            viewers.call({"op": "close"}, timeout=60)
            trials.append(trial)

            print(f"N={n}: floor", file=sys.stderr)
            trial = Trial("floor", n, audiences)
            connect_all(
                viewers,
                trial,
                url=f"ws://127.0.0.1:{relay_port}/",
                origin=origin,
                cookies=[None] * n,
                server_pid=relay.pid,
                timeout=args.connect_timeout,
            )
            measure(
                viewers,
                trial,
                first_event=event_counter,
                warmup=args.warmup,
                events=args.events,
                spacing=args.spacing_ms / 1000,
                miss_after=args.miss_after,
                pattern=lambda e: f'id="floor-{e}"',
                trigger=floor_trigger,
                server_pid=relay.pid,
            )
            event_counter += args.warmup + args.events
            viewers.call({"op": "close"}, timeout=60)
            trials.append(trial)
    return trials


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_start = os.getloadavg()[0]
    try:
        with guarded(args.max_seconds):
            trials = run(args)
    except KeyboardInterrupt:
        print("interrupted; everything the bench started is stopped", file=sys.stderr)
        return 130
    except BenchBusy as exc:
        print(exc, file=sys.stderr)
        return 1
    print(report(trials, args))
    print(
        f"\nmachine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (anything else running shows up in these figures)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
