"""What one websocket connect costs the server, measured in-process (no uvicorn, no client).

Run by hand from the repository root (PostgreSQL and Redis on 127.0.0.1):

    .venv/bin/python bench/connect_cost.py [--sockets 500] [--rounds 5]

``bench/connects.py`` times real sockets end to end, but on a shared 2-core machine
its wall-clock figures swing with everything else running. This one drives the
websocket application of ``config.asgi`` (session and auth middleware, routing,
consumer) with Channels' test communicator, over the Redis pub/sub channel layer and
the bench's own database: ``--sockets`` connects at once, then all closed, each round.
It prints this process's CPU time (all threads: the event loop and the database
thread) per connect and per close, and the wall time until all were open; the best
round is the least disturbed by other load, so it is printed beside the median.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchBusy, BenchDatabase, migrate, use_database
from bench.live_fanout import PREFIX, RUN, SECRET_KEY, audiences_for, build_scene


async def one_round(app, path: str, cookies: list[str]) -> tuple[float, float, float]:
    from channels.testing import WebsocketCommunicator

    origin = (b"origin", b"http://127.0.0.1")
    comms = [
        WebsocketCommunicator(app, path, headers=[(b"cookie", c.encode()), origin]) for c in cookies
    ]
    cpu, wall = time.process_time(), time.perf_counter()
    results = await asyncio.gather(*(comm.connect(timeout=60) for comm in comms))
    open_cpu, open_wall = time.process_time() - cpu, time.perf_counter() - wall
    refused = [code for ok, code in results if not ok]
    if refused:
        raise RuntimeError(f"{len(refused)} connects refused: {set(refused)}")
    cpu = time.process_time()
    await asyncio.gather(*(comm.disconnect() for comm in comms))
    close_cpu = time.process_time() - cpu
    n = len(cookies)
    return open_cpu * 1000 / n, close_cpu * 1000 / n, open_wall


async def measure(args: argparse.Namespace, incident_id: int, cookies: list[str]) -> None:
    from django.test import override_settings

    from config.asgi import application

    layer = {
        "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
        "CONFIG": {"hosts": [args.redis_url], "prefix": PREFIX},
    }
    path = f"/ws/incidents/{incident_id}/"
    rows = []
    with override_settings(CHANNEL_LAYERS={"default": layer}, ALLOWED_HOSTS=["127.0.0.1"]):
        await one_round(application, path, cookies[:20])  # warm-up: connections, imports
        for r in range(args.rounds):
            rows.append(await one_round(application, path, cookies))
            print(f"round {r + 1}: {rows[-1][0]:.2f} ms CPU per connect", file=sys.stderr)
    opens, closes, walls = zip(*rows, strict=True)
    print(f"{args.sockets} connects at once, {args.rounds} rounds (best / median):")
    print(f"  CPU per connect  {min(opens):6.2f} / {statistics.median(opens):6.2f} ms")
    print(f"  CPU per close    {min(closes):6.2f} / {statistics.median(closes):6.2f} ms")
    print(f"  all open after   {min(walls):6.2f} / {statistics.median(walls):6.2f} s")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--sockets", type=int, default=500)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    p.add_argument("--db-name", default="ripcord_bench_connect_cost")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/0")
    args = p.parse_args(argv)
    use_database(args.pg_admin_url, args.db_name, SECRET_KEY)
    database = BenchDatabase(args.db_name, run_id=RUN, admin_dsn=args.pg_admin_url)
    try:
        database.create()
    except BenchBusy as exc:
        print(exc, file=sys.stderr)
        return 1
    try:
        migrate()
        scene = build_scene(n_steps=20, view_users=20, act_users=4)
        cookies = [
            (scene.act_cookies if audience == "act" else scene.view_cookies)[i % 4]
            for i, audience in enumerate(audiences_for(args.sockets, 0.05))
        ]
        asyncio.run(measure(args, scene.incident_id, cookies))
    finally:
        database.drop()
        database.close()
    print(f"(1-minute load average at the end: {os.getloadavg()[0]:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
