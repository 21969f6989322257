"""Concurrent writers: N clients x M step actions at once through the JSON API, none lost.

Each writer (the incident's commander, and responders on the role owning the
steps) has its own API token and its own two steps of one
incident; all start together (a barrier) and do ``--actions`` actions each, mixed at
random (seeded): complete a pending step of theirs, reopen a done one, add a note.
Every request's latency is timed on the client (one keep-alive connection per writer,
stdlib ``http.client``, one thread per writer). Afterwards the database is checked:
per step, the ``step_done`` and ``step_reopened`` entries and the final state must
match what the writer was answered 2xx for; per writer, its notes. "Lost" counts
actions answered 2xx but not recorded, "twice" those recorded more than once.

The floor: the same N x M requests at once against ``GET /healthz`` of the same
uvicorn (one database query and Redis pings, no login): server + client overhead.

Set-up as ``live_fanout.py``: its own database under the benches' advisory lock
(``bench/stack.py``), one uvicorn in the production configuration, 127.0.0.1 only,
stopped at the end, on error, on Ctrl-C / SIGTERM or when ``--max-seconds`` runs out.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.stack import Stack, percentile


@dataclass
class Writer:
    token: str
    steps: list[int]
    latencies: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)  # the action of each latency
    done: Counter[int] = field(default_factory=Counter)  # step → completes answered 2xx
    reopened: Counter[int] = field(default_factory=Counter)
    notes: list[str] = field(default_factory=list)
    state: dict[int, str] = field(default_factory=dict)  # what the writer believes
    errors: Counter[str] = field(default_factory=Counter)


def build_scene(writers: int, steps_each: int) -> tuple[int, list[Writer]]:
    from django.contrib.auth.models import Group, User
    from django.db import connections

    from common.capabilities import COMMANDERS, RESPONDERS
    from common.tokens import create_token
    from incidents import services
    from tests.factories import make_version, spec_with_steps

    users = []
    for i in range(writers):
        user = User.objects.create_user(username=f"bench-writer{i}")
        user.groups.add(Group.objects.get_or_create(name=COMMANDERS if i == 0 else RESPONDERS)[0])
        users.append(user)
    version = make_version(spec_with_steps(writers * steps_each))
    incident = services.open_incident(
        version=version,
        environment="staging",
        title="Concurrency benchmark",
        severity="sev2",
        is_drill=True,
        opened_by=users[0],
    )
    for user in users[1:]:  # the responders hold the role that owns every step
        services.assign_role(
            incident_id=incident.pk, role_key="backend_engineer", user_id=user.pk, by=users[0]
        )
    step_ids = list(incident.steps.order_by("position").values_list("pk", flat=True))
    result = []
    for i, user in enumerate(users):
        _, raw = create_token(user, "concurrency bench")
        mine = step_ids[i * steps_each : (i + 1) * steps_each]
        result.append(Writer(token=raw, steps=mine, state=dict.fromkeys(mine, "pending")))
    connections.close_all()
    return incident.pk, result


def request(
    conn: http.client.HTTPConnection, method: str, path: str, token: str, body: bytes | None
) -> tuple[int, float]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    started = time.perf_counter()
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    return response.status, (time.perf_counter() - started) * 1000


def run_writer(
    port: int, incident: int, writer: Writer, index: int, actions: int, barrier: threading.Barrier
) -> None:
    rng = random.Random(index)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    barrier.wait()
    base = f"/api/v1/incidents/{incident}"
    for n in range(actions):
        step = rng.choice(writer.steps)
        kind = rng.choice(["toggle", "toggle", "note"])
        if kind == "note":
            text = f"writer {index} note {n}"
            status, ms = request(
                conn, "POST", f"{base}/timeline", writer.token, json.dumps({"text": text}).encode()
            )
        elif writer.state[step] == "pending":
            kind = "complete"
            status, ms = request(conn, "POST", f"{base}/steps/{step}/complete", writer.token, b"")
        else:
            kind = "reopen"
            status, ms = request(conn, "POST", f"{base}/steps/{step}/reopen", writer.token, b"")
        writer.latencies.append(ms)
        writer.kinds.append(kind)
        if not 200 <= status < 300:
            writer.errors[f"{kind} {status}"] += 1
            continue
        if kind == "note":
            writer.notes.append(text)
        elif kind == "complete":
            writer.done[step] += 1
            writer.state[step] = "done"
        else:
            writer.reopened[step] += 1
            writer.state[step] = "pending"
    conn.close()


def run_floor(
    port: int, actions: int, out: list[float], errors: Counter[str], b: threading.Barrier
) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    b.wait()
    for _ in range(actions):
        status, ms = request(conn, "GET", "/healthz", "", None)
        out.append(ms)
        if status != 200:
            errors[f"healthz {status}"] += 1
    conn.close()


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (its threads included), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_parallel(targets: list[threading.Thread], pid: int) -> tuple[float, float]:
    """Run the threads at once: (wall seconds, server CPU seconds)."""
    cpu = cpu_seconds(pid)
    started = time.perf_counter()
    for t in targets:
        t.start()
    for t in targets:
        t.join()
    return time.perf_counter() - started, cpu_seconds(pid) - cpu


def verify(incident: int, writers: list[Writer]) -> tuple[int, int, int]:
    """(expected actions answered 2xx, lost, recorded twice), from the database."""
    from django.db import connections

    from incidents.models import Step, TimelineEntry

    entries = TimelineEntry.objects.filter(incident_id=incident)
    per_step = Counter(
        (e["step_id"], e["kind"])
        for e in entries.filter(kind__in=["step_done", "step_reopened"]).values("step_id", "kind")
    )
    notes = Counter(entries.filter(kind="note").values_list("text", flat=True))
    states = dict(Step.objects.filter(incident_id=incident).values_list("pk", "state"))
    expected = lost = twice = 0
    for w in writers:
        for step in w.steps:
            for kind, want in (("step_done", w.done[step]), ("step_reopened", w.reopened[step])):
                got = per_step[(step, kind)]
                expected += want
                lost += max(0, want - got)
                twice += max(0, got - want)
            if states[step] != w.state[step]:
                print(f"step {step}: state {states[step]}, writer believes {w.state[step]}")
        for text in w.notes:
            expected += 1
            lost += notes[text] == 0
            twice += max(0, notes[text] - 1)
    connections.close_all()
    return expected, lost, twice


def row(
    name: str, latencies: list[float], timing: tuple[float, float], errors: int, lost: str
) -> str:
    p = [percentile(latencies, q) for q in (50, 95, 99)]
    wall, cpu = timing
    return (
        f"{name:<22}{len(latencies):>9}{p[0]:>9.1f}{p[1]:>9.1f}{p[2]:>9.1f}"
        f"{max(latencies):>9.1f}{len(latencies) / wall:>9.0f}"
        f"{cpu * 1000 / len(latencies):>11.1f}{errors:>8}{lost:>12}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--writers", type=int, default=50)
    parser.add_argument("--actions", type=int, default=20)
    parser.add_argument("--steps-each", type=int, default=2)
    parser.add_argument("--max-seconds", type=int, default=600)
    parser.add_argument("--keep-db", action="store_true")
    args = parser.parse_args(argv)

    load_start = os.getloadavg()[0]
    with Stack("concurrency", deadline_seconds=args.max_seconds, keep=args.keep_db) as stack:
        stack.prepare()
        incident, writers = build_scene(args.writers, args.steps_each)
        server = stack.start_server()
        port = int(server.url.rsplit(":", 1)[1])

        floor: list[float] = []
        floor_errors: Counter[str] = Counter()
        barrier = threading.Barrier(args.writers)
        floor_timing = in_parallel(
            [
                threading.Thread(
                    target=run_floor, args=(port, args.actions, floor, floor_errors, barrier)
                )
                for _ in range(args.writers)
            ],
            server.pid,
        )

        barrier = threading.Barrier(args.writers)
        timing = in_parallel(
            [
                threading.Thread(
                    target=run_writer, args=(port, incident, w, i, args.actions, barrier)
                )
                for i, w in enumerate(writers)
            ],
            server.pid,
        )
        expected, lost, twice = verify(incident, writers)
        latencies = [ms for w in writers for ms in w.latencies]
        errors: Counter[str] = Counter()
        for w in writers:
            errors.update(w.errors)

        print(
            f"\n{args.writers} writers x {args.actions} actions at once"
            f" (one keep-alive connection and thread each; latency ms, client-side;\n"
            f" CPU = the server process's utime + stime over the round, per request)\n"
        )
        header = (
            f"{'':<22}{'requests':>9}{'p50':>9}{'p95':>9}{'p99':>9}{'max':>9}"
            f"{'req/s':>9}{'CPU ms/req':>11}{'non-2xx':>8}{'lost/twice':>12}"
        )
        print(header)
        print("-" * len(header))
        print(row("floor: GET /healthz", floor, floor_timing, sum(floor_errors.values()), "-"))
        print(
            row("ripcord: step actions", latencies, timing, sum(errors.values()), f"{lost}/{twice}")
        )
        for kind in ("complete", "reopen", "note"):
            of_kind = [
                ms for w in writers for ms, k in zip(w.latencies, w.kinds, strict=True) if k == kind
            ]
            if of_kind:
                print(
                    f"  {kind:<20}{len(of_kind):>9}"
                    + "".join(f"{percentile(of_kind, q):>9.1f}" for q in (50, 95, 99))
                    + f"{max(of_kind):>9.1f}"
                )
        totals = sorted(sum(w.latencies) / 1000 for w in writers)
        print(
            f"  a writer's {args.actions} actions took {totals[0]:.1f} s (fastest writer),"
            f" {percentile(totals, 50):.1f} s (median), {totals[-1]:.1f} s (slowest);"
            f" the round {timing[0]:.1f} s"
        )
        print(
            f"\nanswered 2xx and checked in the database: {expected}"
            f" (completes {sum(sum(w.done.values()) for w in writers)},"
            f" reopens {sum(sum(w.reopened.values()) for w in writers)},"
            f" notes {sum(len(w.notes) for w in writers)})"
        )
        if errors or floor_errors:
            print(f"non-2xx: {dict(errors + floor_errors)}")
        print(
            f"machine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start,"
            f" {os.getloadavg()[0]:.1f} at end"
        )
        return 1 if lost or twice else 0


if __name__ == "__main__":
    raise SystemExit(main())
