"""Sustained fan-out: N viewers while changes arrive at R a second for S seconds. Does lag grow?

Run by hand from the repository root (PostgreSQL and Redis on 127.0.0.1):

    .venv/bin/python bench/sustained.py [--viewers 500] [--rate 20] [--seconds 60]

The set-up is bench/live_fanout.py's (one incident of ``--steps`` manual steps, N
websocket viewers in one client process, uvicorn in the production configuration,
the bare Redis pub/sub → websocket relay as the floor). The difference: events do not
wait for each other. The bench fires event k at ``start + k / rate`` (on a few
threads, so a slow answer does not hold back the next call), each ticking or
reopening a different step through the API, and the viewers note, per event, when the
last of them got the step's new state. Lag = that moment minus the moment the event
was due. The floor PUBLISHes payloads of the same size at the same rate.

The table gives the lag's p50 / p99 / max over the first and the last ``--edge``
seconds, and how many events some viewer never got (after ``--grace`` seconds past the
last). "No growing lag" means the last window's p99 is about the first's: a server
that cannot keep up falls further behind every second. Ripcord merges the changes of
one incident that arrive during a render into one render (incidents/push_loop.py), so
at a high rate one push carries several events.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import live_fanout as lf
from bench.database import BenchBusy, BenchDatabase, migrate, use_database
from bench.stack import free_port, relay_argv, wait_for

STEP_PATTERN = r'id="step-(\d+)"[^>]*data-state="(\w+)"'
FLOOR_PATTERN = r'id="floor-(\d+)"'


@dataclass
class Result:
    design: str
    due: list[float] = field(default_factory=list)  # per event, when it was due
    last: list[float | None] = field(default_factory=list)  # last viewer's receipt
    cpu_s: float = 0.0
    late_calls: int = 0  # calls that started more than 50 ms after they were due

    def lags_ms(self, since: float, until: float) -> list[float]:
        start = self.due[0]
        return [
            (got - due) * 1000
            for due, got in zip(self.due, self.last, strict=True)
            if got is not None and since <= due - start < until
        ]

    def missed(self) -> int:
        return sum(got is None for got in self.last)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--viewers", type=int, default=500)
    p.add_argument("--rate", type=float, default=20.0, help="events a second")
    p.add_argument("--seconds", type=float, default=60.0)
    p.add_argument("--edge", type=float, default=10.0, help="seconds compared, first and last")
    p.add_argument("--grace", type=float, default=15.0, help="wait after the last event, s")
    p.add_argument("--steps", type=int, default=600, help="manual steps (events rotate over them)")
    p.add_argument("--callers", type=int, default=8, help="threads calling the API")
    p.add_argument("--act-share", type=float, default=0.05)
    p.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    p.add_argument("--db-pool", action=argparse.BooleanOptionalAction, default=True)
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--db-name", default="ripcord_bench_sustained")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    p.add_argument("--max-seconds", type=int, default=900)
    args = p.parse_args(argv)
    n_events = int(args.rate * args.seconds)
    if not 1 <= args.viewers <= 2000 or not 0 < args.rate <= 200 or n_events < 1:
        p.error("--viewers 1..2000, --rate 0..200, at least one event")
    if 2 * args.steps < n_events:
        p.error("--steps: at least half the events (a step is ticked, then reopened, once)")
    for url in (args.pg_admin_url, args.redis_url):
        if "127.0.0.1" not in url and "localhost" not in url:
            p.error("the bench only talks to 127.0.0.1")
    args.n_events = n_events
    return args


def fire(
    n_events: int, rate: float, callers: int, trigger: Callable[[int], None], result: Result
) -> None:
    """Event k at start + k / rate, whatever the earlier calls are doing."""
    lock = threading.Lock()
    start = time.monotonic() + 0.5
    result.due = [start + k / rate for k in range(n_events)]
    result.last = [None] * n_events

    def one(k: int) -> None:
        pause = result.due[k] - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        elif pause < -0.05:
            with lock:
                result.late_calls += 1
        trigger(k)

    with ThreadPoolExecutor(max_workers=callers) as pool:
        for future in [pool.submit(one, k) for k in range(n_events)]:
            future.result()


def stream(
    viewers: lf.ViewerProcess,
    result: Result,
    *,
    pattern: str,
    keys: dict[str, int],
    args: argparse.Namespace,
    trigger: Callable[[int], None],
    pid: int,
) -> None:
    viewers.call({"op": "stream", "pattern": pattern, "keys": keys}, timeout=30)
    cpu = lf.proc_cpu_s(pid)
    fire(args.n_events, args.rate, args.callers, trigger, result)
    reply = viewers.call(
        {"op": "streamed", "deadline": time.monotonic() + args.grace}, timeout=args.grace + 60
    )
    result.cpu_s = lf.proc_cpu_s(pid) - cpu
    result.last = [reply["last"].get(str(k)) for k in range(args.n_events)]
    for k, count in reply["count"].items():
        if count < reply["wanted"]:
            result.last[int(k)] = None  # some viewer never got it


def run(args: argparse.Namespace) -> list[Result]:
    log_dir = Path(tempfile.mkdtemp(prefix="ripcord-bench-"))
    print(f"logs: {log_dir}", file=sys.stderr)
    use_database(args.pg_admin_url, args.db_name, lf.SECRET_KEY)
    database = BenchDatabase(args.db_name, run_id=lf.RUN, admin_dsn=args.pg_admin_url)
    results: list[Result] = []
    with ExitStack() as stack:
        stack.callback(database.close)
        database.create()
        stack.callback(database.drop)
        migrate()
        scene = lf.build_scene(n_steps=args.steps, view_users=20, act_users=4)

        from tests.integration.processes import start_server  # needs django.setup() first

        server = start_server(
            log_dir,
            REDIS_URL=args.redis_url,
            RIPCORD_CHANNEL_PREFIX=lf.PREFIX,
            SECRET_KEY=lf.SECRET_KEY,
            RIPCORD_LOG_LEVEL="WARNING",
            WEB_CONCURRENCY=str(args.workers),
            RIPCORD_DB_POOL="1" if args.db_pool else "0",
        )
        stack.callback(server.stop)
        relay_port = free_port()
        relay = lf.spawn(
            "relay", relay_argv(relay_port, args.redis_url, f"{lf.PREFIX}:floor"), log_dir
        )
        stack.callback(relay.stop)
        wait_for(lambda: "ready" in relay.log_tail(), timeout=20, what="the relay")
        viewers = lf.ViewerProcess(log_dir)
        stack.callback(viewers.stop)
        audiences = lf.audiences_for(args.viewers, args.act_share)
        cookies: list[str | None] = []
        for i, audience in enumerate(audiences):
            pool = scene.act_cookies if audience == "act" else scene.view_cookies
            cookies.append(pool[i % len(pool)])

        # Event k ticks step k mod steps (done on its first round, pending on its second).
        steps = scene.step_ids
        plan = [
            (steps[k % len(steps)], "done" if (k // len(steps)) % 2 == 0 else "pending")
            for k in range(args.n_events)
        ]
        keys = {f"{pk}:{state}": k for k, (pk, state) in enumerate(plan)}

        def tick(k: int) -> None:
            pk, state = plan[k]
            action = "complete" if state == "done" else "reopen"
            path = f"/api/v1/incidents/{scene.incident_id}/steps/{pk}/{action}"
            status = lf.api_post(server.url, path, scene.token)
            if status != 200:
                raise RuntimeError(f"{path} answered {status}")

        print(f"ripcord: {args.viewers} viewers, {args.n_events} events", file=sys.stderr)
        ws_url = server.url.replace("http://", "ws://") + f"/ws/incidents/{scene.incident_id}/"
        reply = viewers.call(
            {
                "op": "connect",
                "url": ws_url,
                "origin": server.url,
                "cookies": cookies,
                "timeout": 60,
            },
            timeout=120,
        )
        if reply["errors"]:
            raise RuntimeError(f"connect errors: {reply['errors']}")
        ripcord = Result("ripcord")
        stream(
            viewers,
            ripcord,
            pattern=STEP_PATTERN,
            keys=keys,
            args=args,
            trigger=tick,
            pid=server.proc.pid,
        )
        viewers.call({"op": "close"}, timeout=60)
        results.append(ripcord)

        import redis

        publisher = redis.Redis.from_url(args.redis_url)
        stack.callback(publisher.close)
        body = "<p>" + "floor payload " * 150 + "</p>"

        def publish(k: int) -> None:
            publisher.publish(f"{lf.PREFIX}:floor", f'<!-- id="floor-{k}" -->' + body)

        print("floor", file=sys.stderr)
        viewers.call(
            {
                "op": "connect",
                "url": f"ws://127.0.0.1:{relay_port}/",
                "origin": server.url,
                "cookies": [None] * args.viewers,
                "timeout": 60,
            },
            timeout=120,
        )
        floor = Result("floor")
        stream(
            viewers,
            floor,
            pattern=FLOOR_PATTERN,
            keys={str(k): k for k in range(args.n_events)},
            args=args,
            trigger=publish,
            pid=relay.pid,
        )
        viewers.call({"op": "close"}, timeout=60)
        results.append(floor)
    return results


def _row(label: str, lags: list[float]) -> str:
    if not lags:
        return f"| {label} | - | - | - |"
    q = statistics.quantiles(lags, n=100, method="inclusive") if len(lags) > 1 else lags * 99
    return f"| {label} | {q[49]:.0f} | {q[98]:.0f} | {max(lags):.0f} |"


def report(results: list[Result], args: argparse.Namespace) -> str:
    lines = [
        f"{args.viewers} viewers, {args.rate:g} events/s for {args.seconds:g} s "
        f"({args.n_events} events); lag = last viewer's receipt - the moment the event was due",
        "",
        "| design, window | lag p50 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|",
    ]
    last_start = args.seconds - args.edge
    for r in results:
        lines.append(_row(f"{r.design}, first {args.edge:g} s", r.lags_ms(0, args.edge)))
        lines.append(_row(f"{r.design}, last {args.edge:g} s", r.lags_ms(last_start, 1e9)))
    lines += [
        "",
        "| design | events missed | calls started late | server CPU s (per event ms) |",
        "|---|---:|---:|---:|",
    ]
    for r in results:
        per = r.cpu_s * 1000 / max(1, len(r.due))
        lines.append(f"| {r.design} | {r.missed()} | {r.late_calls} | {r.cpu_s:.1f} ({per:.1f}) |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    load_start = os.getloadavg()[0]
    try:
        with lf.guarded(args.max_seconds):
            results = run(args)
    except KeyboardInterrupt:
        print("interrupted; everything the bench started is stopped", file=sys.stderr)
        return 130
    except BenchBusy as exc:
        print(exc, file=sys.stderr)
        return 1
    print(report(results, args))
    print(
        f"\nmachine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
