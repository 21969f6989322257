"""Where a tick's CPU goes: the API call and its push, in this process, under cProfile.

    .venv/bin/python bench/profile_tick.py [--ticks 20] [--top 25] [--sort tottime]

The same scene as ``live_fanout.py`` (300 manual steps, an IC with a token, an open
incident) on its own database (``ripcord_bench_profile``, dropped at the end), then
``--ticks`` API calls (tick a step, reopen it, next step) through Django's test
client with the production settings and an in-process channel layer. Each call's
push is rendered exactly as in the server (on commit, or by the flusher, which is
drained after each call so its work is inside the timing). Prints CPU ms per tick
(this process's time), queries per tick (the call and its push), and the profile's
top lines. Viewers are not simulated: their cost is the server's per-socket send,
which ``live_fanout.py`` measures.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import secrets
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchDatabase, migrate, use_database


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ticks", type=int, default=20)
    p.add_argument("--warmup", type=int, default=4)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--sort", default="tottime", choices=["tottime", "cumulative"])
    p.add_argument("--queries", action="store_true", help="print the SQL of one tick and its push")
    p.add_argument("--db-name", default="ripcord_bench_profile")
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args(argv)

    use_database(args.pg_admin_url, args.db_name, "bench-" + secrets.token_urlsafe(32))
    database = BenchDatabase(args.db_name, run_id=secrets.token_hex(4), admin_dsn=args.pg_admin_url)
    try:
        database.create()
        migrate()
        from bench.live_fanout import build_scene

        scene = build_scene(n_steps=300, view_users=2, act_users=2)
        return _profile(scene, args)
    finally:
        database.drop()
        database.close()


def _profile(scene: object, args: argparse.Namespace) -> int:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from incidents import broadcast

    token = scene.token  # type: ignore[attr-defined]
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    state: dict[int, str] = {}

    def tick(i: int) -> None:
        pk = scene.step_ids[(i // 2) % len(scene.step_ids)]  # type: ignore[attr-defined]
        action = "complete" if state.get(pk, "pending") == "pending" else "reopen"
        path = f"/api/v1/incidents/{scene.incident_id}/steps/{pk}/{action}"  # type: ignore[attr-defined]
        response = client.post(path)
        assert response.status_code == 200, (path, response.status_code, response.content)
        state[pk] = "done" if action == "complete" else "pending"
        getattr(broadcast, "flush_pending", lambda: None)()  # a deferred push: timed too

    for i in range(args.warmup):
        tick(i)
    if args.queries:
        with CaptureQueriesContext(connection) as one:
            tick(args.warmup)
        for number, query in enumerate(one, 1):
            print(f"{number:3} {query['time']:>6}s  {query['sql'][:300]}")
        return 0
    profiler = cProfile.Profile(time.process_time)  # CPU, not wall: the database waits are not ours
    with CaptureQueriesContext(connection) as queries:
        cpu = time.process_time()
        profiler.enable()
        for i in range(args.warmup, args.warmup + args.ticks):
            tick(i)
        profiler.disable()
        cpu = time.process_time() - cpu
    print(f"{args.ticks} ticks: CPU {cpu / args.ticks * 1000:.1f} ms/tick (under cProfile)")
    print(f"queries per tick (call + push): {len(queries) / args.ticks:.1f}")
    cpu = time.process_time()
    base = args.warmup + args.ticks
    for i in range(base, base + args.ticks):
        tick(i)
    print(
        f"CPU without the profiler: {(time.process_time() - cpu) / args.ticks * 1000:.1f} ms/tick"
    )
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
