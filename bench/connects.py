"""What a websocket connect costs: a reconnect storm, and one connect at a time.

Run by hand from the repository root (PostgreSQL and Redis on 127.0.0.1, see bin/services):

    .venv/bin/python bench/connects.py [--storm 500] [--rounds 3] [--serial 200]

The same set-up as ``bench/live_fanout.py`` (its own database, one uvicorn in the
production configuration with the Redis pub/sub channel layer, the bare relay as
the floor, the viewers in a client process of their own), then, for Ripcord and
the floor in turn:

* storm: ``--storm`` sockets opened at once (all of an incident's viewers coming
  back after a deploy), ``--rounds`` times; the time until all are open, and the
  server's CPU (utime + stime) spent meanwhile, per connect;
* serial: ``--serial`` connects one after another, each closed before the next;
  the handshake's p50 / p90 as the client sees it, and server CPU per connect.

Ripcord's sockets are 5 % responders (the ``act`` audience), the rest viewers.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchBusy, BenchDatabase, migrate, use_database
from bench.live_fanout import (
    PREFIX,
    RUN,
    SECRET_KEY,
    ViewerProcess,
    audiences_for,
    build_scene,
    proc_cpu_s,
    spawn,
)
from bench.stack import free_port, percentile, relay_argv, wait_for


@dataclass
class Row:
    design: str
    storm_s: list[float] = field(default_factory=list)
    storm_cpu_ms: list[float] = field(default_factory=list)  # per connect
    storm_errors: dict[str, int] = field(default_factory=dict)
    serial_ms: list[float] = field(default_factory=list)
    serial_cpu_ms: float = 0.0  # per connect


def storm(viewers: ViewerProcess, row: Row, *, url: str, origin: str, cookies, pid: int) -> None:
    cpu = proc_cpu_s(pid)
    reply = viewers.call(
        {"op": "connect", "url": url, "origin": origin, "cookies": cookies, "timeout": 60},
        timeout=120,
    )
    row.storm_cpu_ms.append((proc_cpu_s(pid) - cpu) * 1000 / len(cookies))
    row.storm_s.append(float(reply["seconds"]))
    for error, count in reply["errors"].items():
        row.storm_errors[error] = row.storm_errors.get(error, 0) + count
    viewers.call({"op": "close"}, timeout=60)


def serial(viewers: ViewerProcess, row: Row, *, url: str, origin: str, cookies, pid: int) -> None:
    cpu = proc_cpu_s(pid)
    for cookie in cookies:
        reply = viewers.call(
            {"op": "connect", "url": url, "origin": origin, "cookies": [cookie], "timeout": 10},
            timeout=30,
        )
        if reply["errors"]:
            raise RuntimeError(f"{row.design}: a single connect failed: {reply['errors']}")
        row.serial_ms.append(float(reply["seconds"]) * 1000)
    # The last socket is closed by the next "connect" (or "close"): CPU includes closes.
    viewers.call({"op": "close"}, timeout=60)
    row.serial_cpu_ms = (proc_cpu_s(pid) - cpu) * 1000 / len(cookies)


def run(args: argparse.Namespace) -> list[Row]:
    log_dir = Path(tempfile.mkdtemp(prefix="ripcord-bench-connects-"))
    print(f"logs: {log_dir}", file=sys.stderr)
    use_database(args.pg_admin_url, args.db_name, SECRET_KEY)
    database = BenchDatabase(args.db_name, run_id=RUN, admin_dsn=args.pg_admin_url)
    rows = [Row("ripcord"), Row("floor")]
    with ExitStack() as stack:
        stack.callback(database.close)
        database.create()
        stack.callback(database.drop)
        migrate()
        scene = build_scene(n_steps=20, view_users=20, act_users=4)

        from tests.integration.processes import start_server  # needs django.setup() first

        server = start_server(
            log_dir,
            REDIS_URL=args.redis_url,
            RIPCORD_CHANNEL_PREFIX=PREFIX,
            SECRET_KEY=SECRET_KEY,
            RIPCORD_LOG_LEVEL="WARNING",
        )
        stack.callback(server.stop)
        relay_port = free_port()
        relay = spawn("relay", relay_argv(relay_port, args.redis_url, f"{PREFIX}:floor"), log_dir)
        stack.callback(relay.stop)
        wait_for(lambda: "ready" in relay.log_tail(), timeout=20, what="the relay")
        viewers = ViewerProcess(log_dir)
        stack.callback(viewers.stop)

        def cookies_for(n: int) -> list[str | None]:
            out: list[str | None] = []
            for i, audience in enumerate(audiences_for(n, 0.05)):
                pool = scene.act_cookies if audience == "act" else scene.view_cookies
                out.append(pool[i % len(pool)])
            return out

        ripcord = {
            "url": server.url.replace("http://", "ws://") + f"/ws/incidents/{scene.incident_id}/",
            "origin": server.url,
            "pid": server.proc.pid,
        }
        floor = {"url": f"ws://127.0.0.1:{relay_port}/", "origin": server.url, "pid": relay.pid}
        storm_cookies = cookies_for(args.storm)
        serial_cookies = cookies_for(args.serial)
        # One untimed round each: first connections, imports, the database thread.
        for target, cookies in ((ripcord, cookies_for(20)), (floor, [None] * 20)):
            storm(viewers, Row("warm-up"), cookies=cookies, **target)  # type: ignore[arg-type]
        for r in range(args.rounds):
            print(f"round {r + 1}/{args.rounds}", file=sys.stderr)
            storm(viewers, rows[0], cookies=storm_cookies, **ripcord)  # type: ignore[arg-type]
            storm(viewers, rows[1], cookies=[None] * args.storm, **floor)  # type: ignore[arg-type]
        serial(viewers, rows[0], cookies=serial_cookies, **ripcord)  # type: ignore[arg-type]
        serial(viewers, rows[1], cookies=[None] * args.serial, **floor)  # type: ignore[arg-type]
    return rows


def report(rows: list[Row], args: argparse.Namespace) -> str:
    lines = [
        f"{'design':8} {'storm N':>7} {'all open s (each round)':>26} {'CPU ms/connect':>15}"
        f" {'failures':>9} {'serial p50 ms':>14} {'p90 ms':>7} {'CPU ms/connect':>15}",
        "-" * 110,
    ]
    for row in rows:
        rounds = " ".join(f"{s:.2f}" for s in row.storm_s)
        cpu = sum(row.storm_cpu_ms) / max(1, len(row.storm_cpu_ms))
        failures = sum(row.storm_errors.values())
        lines.append(
            f"{row.design:8} {args.storm:>7} {rounds:>26} {cpu:>15.2f} {failures:>9}"
            f" {percentile(row.serial_ms, 50):>14.2f} {percentile(row.serial_ms, 90):>7.2f}"
            f" {row.serial_cpu_ms:>15.2f}"
        )
        if row.storm_errors:
            lines.append(f"         failures by cause: {row.storm_errors}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--storm", type=int, default=500, help="sockets opened at once")
    p.add_argument("--rounds", type=int, default=3, help="storms per design")
    p.add_argument("--serial", type=int, default=200, help="connects one at a time")
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--db-name", default="ripcord_bench_connects")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = p.parse_args(argv)
    load_start = os.getloadavg()[0]
    try:
        rows = run(args)
    except BenchBusy as exc:
        print(exc, file=sys.stderr)
        return 1
    print(report(rows, args))
    print(
        f"\nmachine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
