"""How the incident page's server time, queries and bytes grow with the incident.

    .venv/bin/python bench/page_size.py              # --repeat 15
    .venv/bin/python bench/page_size.py --keep-db

Builds, in a fresh database (``ripcord_bench_pages``, dropped at the end), the scenes of
tests/page_scene.py: a 20-step incident with 100 timeline entries in its first phase
(every step shown: a runbook that small reads as one plan), and a 1,000-step incident
(10 phases of 100) with 10,000 entries, in its last phase (nine finished), its fifth
and its first (nothing finished yet). The page renders the running phase's steps
only; the other phases are compact and fetch their steps when expanded (the rows
"expand ..."). Each page is requested through Django's test client in this process
(the whole middleware stack and render, no network) as the commander, the scenes
interleaved round by round after a warm-up, so a busy moment on the machine hits them
all; the table gives the median and best wall time of ``--repeat`` calls, the median
CPU time of this process (what the load of other processes disturbs least), each
median against the 20-step page's (the target: at most 2x), the queries and the
bytes. Indicative on a shared machine: the load average is printed.
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


Row = tuple[str, float, float, float, int, int]


def measure(client, urls: dict[str, tuple[str, dict[str, str]]], repeat: int) -> list[Row]:
    """(label, median ms, best ms, median CPU ms, queries, bytes) of GET each (url, headers)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for url, headers in urls.values():
        client.get(
            url, headers=headers
        )  # warm: templates compiled, connection open, the spec parsed
    wall: dict[str, list[float]] = {label: [] for label in urls}
    cpu: dict[str, list[float]] = {label: [] for label in urls}
    for _ in range(repeat):
        for label, (url, headers) in urls.items():
            cpu_start, start = time.process_time(), time.perf_counter()
            response = client.get(url, headers=headers)
            wall[label].append((time.perf_counter() - start) * 1000)
            cpu[label].append((time.process_time() - cpu_start) * 1000)
            assert response.status_code == 200, (url, response.status_code)
    rows = []
    for label, (url, headers) in urls.items():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(url, headers=headers)
        rows.append(
            (
                label,
                statistics.median(wall[label]),
                min(wall[label]),
                statistics.median(cpu[label]),
                len(queries),
                len(response.content),
            )
        )
    return rows


def run(args: argparse.Namespace) -> list[Row]:
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
    big = {"phases": 10, "steps_per_phase": 100, "entries": 10_000}
    scenes = [
        ("20 steps, 100 entries", {"phases": 4, "steps_per_phase": 5, "ended": 0, "entries": 100}),
        ("1000 steps, 10000 entries, phase 10/10", big | {"ended": 9}),
        ("1000 steps, 10000 entries, phase 5/10", big | {"ended": 4}),
        ("1000 steps, 10000 entries, phase 1/10", big | {"ended": 0}),
    ]
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(people[0])
    urls: dict[str, tuple[str, dict[str, str]]] = {}
    for label, size in scenes:
        incident = build_incident(people=people, **size)
        urls[label] = (reverse("incidents:detail", args=[incident.pk]), {})
        if size["phases"] > 4 and size["ended"] in (0, 9):
            folded = incident.phases.get(position=0 if size["ended"] else 5)
            what = "a finished" if size["ended"] else "a not started"
            # What the fold's htmx GET fetches (without htmx: the phase's own page).
            urls[f"  expand {what} phase (100 steps)"] = (
                reverse("incidents:phase_steps", args=[incident.pk, folded.pk]),
                {"HX-Request": "true"},
            )
    # Bulk-built rows have no planner statistics yet: without them PostgreSQL sorts all
    # 10,000 entries for the newest 200 (~20 ms) instead of reading the (incident, at)
    # index (~0.4 ms). A live database has them (autovacuum analyzes a table that grew).
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    return measure(client, urls, args.repeat)


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
    base, base_cpu = rows[0][1], rows[0][3]
    print(
        f"{'incident page (IC)':42} {'median ms':>9} {'best ms':>8} {'x 20-step':>9}"
        f" {'cpu ms':>7} {'x 20-step':>9} {'queries':>7} {'KB':>7}"
    )
    print("-" * 106)
    for label, median, best, cpu, queries, size in rows:
        print(
            f"{label:42} {median:9.1f} {best:8.1f} {median / base:9.2f}"
            f" {cpu:7.1f} {cpu / base_cpu:9.2f} {queries:7d} {size / 1024:7.1f}"
        )
    print(
        f"\nmachine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (indicative figures on a shared machine)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
