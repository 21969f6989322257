"""Anonymous status-page readers while updates are published, beside a static file.

N readers at once (one keep-alive connection and thread each, stdlib ``http.client``), each
requesting as fast as answered for ``--seconds``, in three rounds against one uvicorn in the
production configuration (PostgreSQL, the Redis cache):

* floor: a static file (``/static/css/statuspage.css``, WhiteNoise) from the same server;
* page: ``GET /status/todo-app/`` (the full HTML, no validator: a 200 each time);
* poll: ``GET /status/todo-app/summary.json`` with the ``If-None-Match`` the reader last got,
  as the page's script polls (a 304 unless something was published since).

During the page and poll rounds a commander publishes an update every ``--publish-every``
seconds through the API, which makes every cached page stale at once: readers then pay for
rendering again. Latency is client-side, in ms; CPU is the server's utime + stime per request.

Set-up as the other benches (``bench/stack.py``): its own database under an advisory lock,
127.0.0.1 only, everything stopped at the end, on error, Ctrl-C / SIGTERM or ``--max-seconds``.
The client threads share the machine (and the GIL) with the server: compare rows, not
absolutes.

    .venv/bin/python bench/status_page.py            # --readers 50 --seconds 8
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.concurrency import cpu_seconds
from bench.stack import PYTHON, ROOT, Stack, percentile

PAGE = "/status/todo-app/"
SUMMARY = "/status/todo-app/summary.json"
STATIC = "/static/css/statuspage.css"


@dataclass
class Reader:
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)


def read(
    port: int, path: str, conditional: bool, until: float, reader: Reader, go: threading.Barrier
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    etag = ""
    go.wait()
    while time.monotonic() < until:
        headers = {"If-None-Match": etag} if conditional and etag else {}
        started = time.perf_counter()
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        response.read()
        reader.latencies.append((time.perf_counter() - started) * 1000)
        reader.statuses[response.status] += 1
        etag = response.getheader("ETag") or etag
    conn.close()


def publisher(port: int, token: str, every: float, until: float, done: list[float]) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    n = 0
    while time.monotonic() < until:
        n += 1
        body = json.dumps(
            {
                "title": f"Bench update {n}",
                "body": "Readers are reading while this is published.",
                "status": "investigating" if n % 2 else "monitoring",
                "impact": "minor",
                "components": {"API": "degraded_performance" if n % 2 else "operational"},
            }
        )
        started = time.perf_counter()
        conn.request(
            "POST",
            "/api/v1/status-pages/todo-app/updates",
            body=body,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        )
        response = conn.getresponse()
        response.read()
        if response.status != 201:
            raise RuntimeError(f"publish answered {response.status}")
        done.append((time.perf_counter() - started) * 1000)
        time.sleep(every)
    conn.close()


def round_(
    port: int,
    pid: int,
    path: str,
    args: argparse.Namespace,
    *,
    conditional: bool = False,
    token: str | None = None,
) -> tuple[list[Reader], float, float, list[float]]:
    until = time.monotonic() + args.seconds + 1  # the barrier releases within the first second
    go = threading.Barrier(args.readers + 1)
    readers = [Reader() for _ in range(args.readers)]
    threads = [
        threading.Thread(target=read, args=(port, path, conditional, until, r, go)) for r in readers
    ]
    publishes: list[float] = []
    for t in threads:
        t.start()
    cpu = cpu_seconds(pid)
    go.wait()
    started = time.perf_counter()
    pub = None
    if token is not None:
        pub = threading.Thread(
            target=publisher, args=(port, token, args.publish_every, until, publishes)
        )
        pub.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    if pub is not None:
        pub.join()
    return readers, wall, cpu_seconds(pid) - cpu, publishes


def line(name: str, readers: list[Reader], wall: float, cpu: float, publishes: list[float]) -> str:
    latencies = [ms for r in readers for ms in r.latencies]
    statuses: Counter[int] = Counter()
    for r in readers:
        statuses.update(r.statuses)
    bad = sum(n for status, n in statuses.items() if status not in (200, 304))
    answers = ", ".join(f"{n} x {status}" for status, n in sorted(statuses.items()))
    p = [percentile(latencies, q) for q in (50, 95, 99)]
    return (
        f"{name:<34}{len(latencies):>9}{len(latencies) / wall:>9.0f}{p[0]:>8.1f}{p[1]:>8.1f}"
        f"{p[2]:>8.1f}{max(latencies):>8.1f}{cpu * 1000 / len(latencies):>11.2f}{bad:>7}"
        f"{len(publishes):>6}   {answers}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--readers", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--publish-every", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=int, default=300)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    with Stack("status_page", deadline_seconds=args.max_seconds, keep=args.keep_db) as stack:
        stack.prepare()
        from common.capabilities import COMMANDERS
        from common.tokens import create_token
        from tests.factories import make_user

        token = create_token(make_user("bench-ic", COMMANDERS), "bench")[1]
        # Production serves collected static files only (WhiteNoise), as the image does.
        subprocess.run(
            [PYTHON, "manage.py", "collectstatic", "--noinput", "-v", "0"],
            cwd=ROOT,
            env=stack.env(),
            check=True,
            timeout=120,
        )
        server = stack.start_server()
        port = int(server.url.rsplit(":", 1)[1])

        rows = [
            ("floor: static file", round_(port, server.pid, STATIC, args)),
            ("page: GET, publishing", round_(port, server.pid, PAGE, args, token=token)),
            (
                "poll: summary.json If-None-Match",
                round_(port, server.pid, SUMMARY, args, conditional=True, token=token),
            ),
        ]
        print(
            f"\n{args.readers} anonymous readers at once for {args.seconds:.0f} s per row"
            f" (one keep-alive connection and thread each; ms, client-side; CPU = the server"
            f"\nprocess's utime + stime per request; pub = updates published during the row,"
            f" one every {args.publish_every:g} s)\n"
        )
        header = (
            f"{'':<34}{'requests':>9}{'req/s':>9}{'p50':>8}{'p95':>8}{'p99':>8}{'max':>8}"
            f"{'CPU ms/req':>11}{'bad':>7}{'pub':>6}   answers"
        )
        print(header)
        print("-" * len(header))
        for name, (readers, wall, cpu, publishes) in rows:
            print(line(name, readers, wall, cpu, publishes))
        publish_ms = [ms for _, (_, _, _, p) in rows for ms in p]
        if publish_ms:
            print(
                f"\npublish (API, while read): p50 {percentile(publish_ms, 50):.1f} ms,"
                f" max {max(publish_ms):.1f} ms over {len(publish_ms)}"
            )
        print(
            f"machine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start,"
            f" {os.getloadavg()[0]:.1f} at end (other work shares it: compare rows, not runs)"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
