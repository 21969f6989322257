"""Alerts per second a receiver sustains, beside a bare Django view answering 204.

One uvicorn in the production configuration (its own database and Redis prefixes,
``bench/stack.py``), one Alertmanager receiver, ``--clients`` threads each on one
keep-alive connection posting for ``--seconds`` per round (stdlib ``http.client``):

* floor: the same Alertmanager body to ``/bench/noop/`` (a Django view that reads the
  body and answers 204; server + client overhead), and to ``/bench/noop-db/`` (the same
  plus ``SELECT 1``: ASGI requests close their database connection, so each opens one);
* new alerts: each post one firing alert never seen before (parse, route, write the
  alert, join the open proposal under the runbook's row lock);
* replays: the same body again and again (parse, route, find the alert, write nothing);
* batches: 20 new alerts per post (alerts/s counts alerts, not posts).

Latency is per request, client-side, in ms. The rate limit is raised for the run.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, percentile

Body = Callable[[int, int], bytes]  # (client, sequence) → body


def alert_body(client: int, seq: int, count: int = 1, fixed: bool = False) -> bytes:
    alerts = [
        {
            "status": "firing",
            "labels": {
                "alertname": "ApiErrorsHigh",
                "instance": "fixed" if fixed else f"c{client}-s{seq}-a{i}",
                "job": "todo-api",
            },
            "annotations": {"summary": "API failing"},
            "startsAt": "2026-12-03T07:00:00Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph?g0.expr=x",
        }
        for i in range(count)
    ]
    return json.dumps({"version": "4", "status": "firing", "alerts": alerts}).encode()


def run_round(
    port: int, path: str, token: str, body: Body, clients: int, seconds: float
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    statuses: list[int] = []
    errors = [0]
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(index: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine: list[float] = []
        bad = 0
        seq = 0
        start.wait()
        while time.monotonic() < stop_at[0]:
            payload = body(index, seq)
            seq += 1
            began = time.perf_counter()
            conn.request(
                "POST",
                path,
                payload,
                {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            mine.append((time.perf_counter() - began) * 1000)
            if response.status >= 300:
                bad += 1
                statuses.append(response.status)
        conn.close()
        with lock:
            latencies.extend(mine)
            errors[0] += bad

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    if statuses:
        print(f"  non-2xx answers: {sorted(set(statuses))}", file=sys.stderr)
    return latencies, errors[0], time.monotonic() - began


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--batch", type=int, default=20)
    parser.add_argument("--max-seconds", type=int, default=150)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    with Stack("receivers", deadline_seconds=args.max_seconds, keep=args.keep_db) as stack:
        stack.prepare()
        from django.contrib.auth.models import Group, User

        from common.capabilities import COMMANDERS
        from tests.factories import make_version
        from tests.triggers.conftest import TRIGGERED
        from triggers import services
        from triggers.models import Alert

        ic = User.objects.create_user("bench-ic")
        ic.groups.add(Group.objects.get_or_create(name=COMMANDERS)[0])
        runbook = make_version(TRIGGERED).runbook
        receiver, token = services.create_receiver(
            kind="alertmanager", runbook=runbook, environment="staging", created_by=ic
        )
        server = stack.start_server(
            DJANGO_SETTINGS_MODULE="bench.receivers_settings",
            RIPCORD_RECEIVER_RATE_PER_MINUTE="100000000",
        )
        port = int(server.url.rsplit(":", 1)[1])
        hook = f"/hooks/{receiver.hook_id}/"
        batch = args.batch
        rounds: list[tuple[str, str, Body, int]] = [
            ("floor: bare view, 204", "/bench/noop/", lambda c, s: alert_body(c, s), 1),
            ("floor + SELECT 1, 204", "/bench/noop-db/", lambda c, s: alert_body(c, s), 1),
            ("receiver: new alert", hook, lambda c, s: alert_body(c, s), 1),
            ("receiver: replay", hook, lambda c, s: alert_body(0, 0, fixed=True), 1),
            (
                f"receiver: {batch} new/post",
                hook,
                lambda c, s: alert_body(c, 10**6 + s, batch),
                batch,
            ),
        ]
        print(
            f"\n{args.clients} clients, {args.seconds:.0f} s per round, one keep-alive"
            " connection each; latency per request, ms, client-side\n"
        )
        header = f"{'':<26}{'posts':>8}{'alerts/s':>10}{'p50':>8}{'p99':>8}{'max':>8}{'non-2xx':>9}"
        print(header)
        print("-" * len(header))
        for name, path, body, per_post in rounds:
            latencies, errors, wall = run_round(port, path, token, body, args.clients, args.seconds)
            print(
                f"{name:<26}{len(latencies):>8}{len(latencies) * per_post / wall:>10.0f}"
                f"{percentile(latencies, 50):>8.1f}{percentile(latencies, 99):>8.1f}"
                f"{max(latencies):>8.1f}{errors:>9}"
            )
        print(f"\nalerts stored: {Alert.objects.count()}")
        print(
            f"machine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start,"
            f" {os.getloadavg()[0]:.1f} at end (shared with other work: figures are a floor)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
