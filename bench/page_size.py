"""How the incident page's server time, queries and bytes grow with the incident.

    .venv/bin/python bench/page_size.py              # --repeat 15
    .venv/bin/python bench/page_size.py --keep-db

Builds, in a fresh database (``ripcord_bench_pages``, dropped at the end), the scenes of
tests/page_scene.py: a 20-step incident with 100 timeline entries in its first phase
(every step shown, as the page was before finished phases became compact), and a
1,000-step incident (10 phases of 100) with 10,000 entries, once in its last phase
(nine phases finished) and once in its first (nothing finished yet: every step is
still rendered, the case this bench does not bound). Each page is requested through
Django's test client in this process (the whole middleware stack and render, no
network) as the commander; the table gives the median and best of ``--repeat`` calls,
the queries and the bytes. Indicative on a shared machine: the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.database import BenchBusy, BenchDatabase, migrate, use_database  # noqa: E402

RUN = secrets.token_hex(4)


def measure(client, url: str, repeat: int) -> tuple[float, float, int, int]:
    """(median ms, best ms, queries, bytes) of GET ``url``."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm: templates compiled, connection open
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    return statistics.median(times), min(times), len(queries), len(response.content)


def run(args: argparse.Namespace) -> list[tuple[str, float, float, int, int]]:
    import django

    django.setup()
    from django.test import Client
    from django.urls import reverse

    from common.capabilities import COMMANDERS, RESPONDERS
    from tests.factories import make_user
    from tests.page_scene import build_incident

    people = (
        make_user("ic", COMMANDERS),
        make_user("backend", RESPONDERS),
        make_user("sysadmin", RESPONDERS),
    )
    print("building scenes (about a minute)", file=sys.stderr)
    scenes = [
        ("20 steps, 100 entries", {"phases": 4, "steps_per_phase": 5, "ended": 0, "entries": 100}),
        (
            "1000 steps, 10000 entries, phase 10/10",
            {"phases": 10, "steps_per_phase": 100, "ended": 9, "entries": 10_000},
        ),
        (
            "1000 steps, 10000 entries, phase 1/10",
            {"phases": 10, "steps_per_phase": 100, "ended": 0, "entries": 10_000},
        ),
    ]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(people[0])
    rows = []
    for label, size in scenes:
        incident = build_incident(people=people, **size)
        page = reverse("incidents:detail", args=[incident.pk])
        rows.append((label, *measure(client, page, args.repeat)))
        if size["ended"]:
            finished = incident.phases.get(position=0)
            steps = reverse("incidents:phase_steps", args=[incident.pk, finished.pk])
            rows.append(
                ("  expand a finished phase (100 steps)", *measure(client, steps, args.repeat))
            )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--db-name", default="ripcord_bench_pages")
    parser.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)
    use_database(args.pg_admin_url, args.db_name, "bench-" + secrets.token_urlsafe(32))
    load_start = os.getloadavg()[0]
    database = BenchDatabase(args.db_name, run_id=RUN, admin_dsn=args.pg_admin_url)
    with ExitStack() as stack:
        stack.callback(database.close)
        try:
            database.create()
        except BenchBusy as exc:
            print(exc, file=sys.stderr)
            return 2
        if not args.keep_db:
            stack.callback(database.drop)
        migrate()
        rows = run(args)
    base = rows[0][1]
    print(
        f"{'incident page (IC)':42} {'median ms':>9} {'best ms':>8} {'x 20-step':>9} {'queries':>7} {'KB':>7}"
    )
    print("-" * 88)
    for label, median, best, queries, size in rows:
        print(
            f"{label:42} {median:9.1f} {best:8.1f} {median / base:9.2f} {queries:7d} {size / 1024:7.1f}"
        )
    print(
        f"\nmachine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (indicative figures on a shared machine)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
