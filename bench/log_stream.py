"""Log streaming: a step printing 200,000 lines to 50 people watching the incident page.

    .venv/bin/python bench/log_stream.py [--lines 200000] [--viewers 50]

Starts uvicorn and one Celery worker (prefork, one child, prefetch 1) on a
database of its own (``ripcord_bench_log_stream``) with the production settings,
connects ``--viewers`` websockets to the incident page's socket as responders
(the "act" audience, who get log tails; each its own user and session cookie,
Origin = the server's URL), runs a one-step shell runbook whose script is
``seq 1 N`` and measures:

- lines/s end to end: the run's own start → finish (worker timestamps in the
  database), the API call returning → the final status seen, and each viewer's
  first → last tail push;
- resident memory (VmRSS, sampled every 100 ms) of the web process and the
  worker before, during and after the run, and during the full-log download;
- what every viewer received: pushes, and whether the tail it ends up showing
  (applied as static/js/live.js does: a fragment with a lower data-rev than the
  one shown is ignored) and the last tail it received end with line N;
- the full log through ``GET /api/v1/incidents/{id}/runs/{run}/log``: exactly
  lines 1..N.

Baselines in the same run, without Django: bash alone (``seq 1 N | cat >
/dev/null``) and the same shell executor with an ``emit`` that only counts newlines — what
reading the process costs before Ripcord stores and pushes anything.
Exits 1 when a check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import html
import os
import platform
import re
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchBusy
from bench.stack import (
    ROOT,
    Stack,
    children_of,
    make_user,
    open_incident,
    rss_kb,
    session_cookie,
    wait_for,
    write_runbook,
)

SLUG = "bench-log-stream"
TAIL = re.compile(r'<pre id="run-tail-(\d+)"[^>]*?data-rev="(\d+)"[^>]*>(.*?)</pre>', re.S)
SAMPLE_SECONDS = 0.1


def script(lines: int) -> str:
    return f"#!/usr/bin/env bash\nseq 1 {lines}\n"


def expected_log(lines: int) -> bytes:
    return "".join(f"{i}\n" for i in range(1, lines + 1)).encode()


# --- viewers ---------------------------------------------------------------------


@dataclass
class Viewer:
    """One person's socket, and what it would show."""

    index: int
    messages: int = 0
    tail_pushes: int = 0  # messages carrying the run's tail (alone or inside the step card)
    first_tail: float | None = None
    last_tail: float | None = None
    last_rev: int = -1  # the last tail received
    last_text: str = ""
    shown_rev: int = -1  # the tail on screen, applied as live.js does
    shown_text: str = ""
    error: str = ""

    def receive(self, message: str, now: float) -> None:
        self.messages += 1
        tails = TAIL.findall(message)
        if not tails:
            return
        self.tail_pushes += 1
        self.first_tail = self.first_tail or now
        self.last_tail = now
        for _run, rev_text, body in tails:
            rev, text = int(rev_text), html.unescape(body)
            self.last_rev, self.last_text = rev, text
            if rev >= self.shown_rev:  # live.js keeps what it shows when that is newer
                self.shown_rev, self.shown_text = rev, text

    @staticmethod
    def last_line(text: str) -> str:
        return text.rstrip("\n").rsplit("\n", 1)[-1] if text else ""


class ViewerPool:
    """N websockets on one asyncio loop in a thread of this process."""

    def __init__(self, base_url: str, path: str, session_ids: Sequence[str]) -> None:
        self.url = base_url.replace("http://", "ws://") + path
        self.origin = base_url
        self.session_ids = list(session_ids)
        self.viewers = [Viewer(i + 1) for i in range(len(self.session_ids))]
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="viewers", daemon=True)
        self.sockets: list[Any] = []
        self.tasks: list[asyncio.Task[None]] = []

    def start(self) -> None:
        self.thread.start()
        asyncio.run_coroutine_threadsafe(self._connect_all(), self.loop).result(timeout=60)

    def stop(self) -> None:
        if not self.thread.is_alive():
            return
        try:
            asyncio.run_coroutine_threadsafe(self._close_all(), self.loop).result(timeout=30)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            if not self.thread.is_alive():
                self.loop.close()

    async def _connect_all(self) -> None:
        from websockets.asyncio.client import connect
        from websockets.typing import Origin

        async def one(session_id: str) -> Any:
            return await connect(
                self.url,
                additional_headers={"Cookie": f"sessionid={session_id}"},
                origin=Origin(self.origin),  # checked by AllowedHostsOriginValidator
                open_timeout=30,
                close_timeout=5,
                max_size=2**22,
            )

        self.sockets = list(await asyncio.gather(*(one(s) for s in self.session_ids)))
        self.tasks = [
            asyncio.create_task(self._read(viewer, ws))
            for viewer, ws in zip(self.viewers, self.sockets, strict=True)
        ]

    async def _read(self, viewer: Viewer, ws: Any) -> None:
        from websockets.exceptions import ConnectionClosed

        try:
            async for message in ws:
                text = message if isinstance(message, str) else message.decode()
                viewer.receive(text, time.time())
        except ConnectionClosed as exc:
            viewer.error = f"closed: {exc}"

    async def _close_all(self) -> None:
        await asyncio.gather(*(ws.close() for ws in self.sockets), return_exceptions=True)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)


# --- memory ----------------------------------------------------------------------


class RssSampler:
    """VmRSS of some processes every 100 ms, on a thread."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.samples: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.is_set():
            now = time.time()
            self.samples.append((now, {k: rss_kb(p) or 0 for k, p in self.pids.items()}))
            self._stop.wait(SAMPLE_SECONDS)

    def peak(self, name: str, start: float, end: float) -> int:
        return max((s[name] for t, s in self.samples if start <= t <= end), default=0)

    def at(self, name: str, when: float) -> int:
        """The last sample taken at or before ``when``."""
        before = [s[name] for t, s in self.samples if t <= when]
        return before[-1] if before else 0


# --- the benchmark ---------------------------------------------------------------


@dataclass
class Baseline:
    label: str
    seconds: list[float] = field(default_factory=list)


@dataclass
class Result:
    lines: int
    baselines: list[Baseline]
    run: Any  # the run's row: status, timestamps, log counters
    api_returned: float
    final_seen: float
    settled: float
    viewers: list[Viewer]
    rss: RssSampler
    marks: dict[str, float]
    download: dict[str, Any]
    web_idle_before_viewers: int
    chunks: int


def baselines(stack: Stack, lines: int, repeats: int) -> list[Baseline]:
    from runbooks.executors.base import Execution
    from runbooks.executors.shell import ShellExecutor

    bash = Baseline(f"bash alone: seq 1 {lines} | cat > /dev/null")
    executor = Baseline("ShellExecutor + counting emit (no Django)")
    for i in range(repeats):
        began = time.perf_counter()
        subprocess.run(
            ["/bin/bash", "-c", f"seq 1 {lines} | cat > /dev/null"], check=True, timeout=60
        )
        bash.seconds.append(time.perf_counter() - began)

        counted = 0

        def count(data: bytes) -> None:  # emit gets bytes cut anywhere: count the newlines
            nonlocal counted
            counted += data.count(b"\n")

        execution = Execution(
            run_id=i,
            command={"script": "scripts/step.sh"},
            env={},
            workdir=stack.work / f"baseline-{i}",
            files={"scripts/step.sh": script(lines)},
            timeout_seconds=120,
        )
        began = time.perf_counter()
        outcome = ShellExecutor().run(execution, emit=count, should_stop=lambda: False)
        executor.seconds.append(time.perf_counter() - began)
        if not outcome.succeeded or counted != lines:
            raise RuntimeError(f"baseline executor: {outcome.summary}, {counted} lines")
    return [bash, executor]


def download_log(base_url: str, token: str, path: str, lines: int) -> dict[str, Any]:
    """Stream the full log; count its lines and compare it with seq's output."""
    request = urllib.request.Request(
        f"{base_url}/api/v1{path}", headers={"Authorization": f"Bearer {token}"}
    )
    digest, size, newlines = hashlib.sha256(), 0, 0
    began = time.time()
    first_byte: float | None = None
    with urllib.request.urlopen(request, timeout=120) as response:
        status = response.status
        while chunk := response.read(64 * 1024):
            first_byte = first_byte or time.time()
            digest.update(chunk)
            size += len(chunk)
            newlines += chunk.count(b"\n")
    ended = time.time()
    return {
        "status": status,
        "lines": newlines,
        "bytes": size,
        "exact": digest.digest() == hashlib.sha256(expected_log(lines)).digest(),
        "began": began,
        "first_byte": (first_byte or ended) - began,
        "seconds": ended - began,
        "ended": ended,
    }


def measure(stack: Stack, *, lines: int, viewers: int, repeats: int) -> Result:
    from common.capabilities import COMMANDERS, RESPONDERS
    from common.tokens import create_token
    from incidents.models import StepRun, StepRunLogChunk
    from tests.integration.http import ApiClient

    write_runbook(stack.work / "runbook", slug=SLUG, script=script(lines), variables={})
    commander = make_user("ic", COMMANDERS)
    people = [make_user(f"responder{i + 1}", RESPONDERS) for i in range(viewers)]
    sessions = [session_cookie(person) for person in people]
    server = stack.start_server()
    worker = stack.start_worker()
    token = create_token(commander, "bench")[1]
    api = ApiClient(server.url, token)
    incident_id, step_id = open_incident(api, SLUG, "log streaming")
    stack.wait_worker_idle(worker, timeout=120)  # the opening's preflight and snapshot

    print(f"baselines ({repeats} each)…", flush=True)
    base = baselines(stack, lines, repeats)

    pool_children = children_of(worker.pid)
    if len(pool_children) != 1:
        raise RuntimeError(f"expected one pool child of the worker, found {pool_children}")
    pids = {"web": server.pid, "worker child": pool_children[0], "worker main": worker.pid}
    time.sleep(1)
    web_idle_before_viewers = rss_kb(server.pid) or 0

    print(f"connecting {viewers} viewers…", flush=True)
    pool = ViewerPool(server.url, f"/ws/incidents/{incident_id}/", sessions)
    marks: dict[str, float] = {}
    try:
        pool.start()
        with RssSampler(pids) as rss:
            time.sleep(1.5)
            marks["idle"] = time.time()
            print(f"running `seq 1 {lines}`…", flush=True)
            marks["post"] = time.time()
            response = api.post(f"/incidents/{incident_id}/steps/{step_id}/run")
            api_returned = time.time()
            if response.status_code != 201:
                raise RuntimeError(f"run refused: {response.status_code} {response.body!r}")
            run_id = int(response.json()["id"])
            wait_for(
                lambda: not StepRun.objects.filter(pk=run_id, status__in=StepRun.ACTIVE).exists(),
                timeout=300,
                what="the run to finish",
                interval=0.05,
            )
            final_seen = time.time()

            # Pushes still in flight: wait until every viewer shows line N, or give up.
            def all_final() -> bool:
                return all(v.shown_rev >= lines for v in pool.viewers)

            with contextlib.suppress(TimeoutError):  # reported per viewer below
                wait_for(all_final, timeout=20, what="every viewer's final tail", interval=0.05)
            time.sleep(1.0)  # anything arriving late still counts
            settled = time.time()
            time.sleep(2.0)
            marks["after"] = time.time()

            print("downloading the full log…", flush=True)
            download = download_log(
                server.url, token, f"/incidents/{incident_id}/runs/{run_id}/log", lines
            )
            time.sleep(2.0)
            marks["after download"] = time.time()
    finally:
        pool.stop()

    run = StepRun.objects.filter(pk=run_id).values(
        "status", "started_at", "finished_at", "log_lines", "log_bytes", "summary"
    )[0]
    return Result(
        lines=lines,
        baselines=base,
        run=run,
        api_returned=api_returned,
        final_seen=final_seen,
        settled=settled,
        viewers=pool.viewers,
        rss=rss,
        marks=marks,
        download=download,
        web_idle_before_viewers=web_idle_before_viewers,
        chunks=StepRunLogChunk.objects.filter(run_id=run_id).count(),
    )


# --- the report ------------------------------------------------------------------


def mb(kb: int) -> str:
    return f"{kb / 1024:.1f}"


def report(result: Result, args: argparse.Namespace, took: float) -> bool:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    n = result.lines
    run = result.run
    ok = True
    print()
    print(
        f"log streaming — `seq 1 {n}` to {len(result.viewers)} viewers; commit {commit}; "
        f"{os.cpu_count()} CPUs; load {load}; Python {platform.python_version()}; "
        f"{took:.0f} s in all"
    )
    print()
    print("| throughput | seconds | lines/s |")
    print("|---|---:|---:|")
    for baseline in result.baselines:
        best = statistics.median(baseline.seconds)
        print(
            f"| {baseline.label} (median of {len(baseline.seconds)}) | {best:.3f} | {n / best:,.0f} |"
        )
    ran = (run["finished_at"] - run["started_at"]).total_seconds()
    print(f"| Ripcord run: started → finished (worker's timestamps) | {ran:.3f} | {n / ran:,.0f} |")
    seen = result.final_seen - result.api_returned
    print(
        f"| Ripcord: API returned → final status seen (polled / 50 ms) | {seen:.3f} | {n / seen:,.0f} |"
    )
    spans = sorted(
        v.last_tail - v.first_tail
        for v in result.viewers
        if v.first_tail is not None and v.last_tail is not None
    )
    if spans:
        median_span = statistics.median(spans)
        slowest = spans[-1]
        print(
            f"| viewers: first → last tail push (median viewer) | {median_span:.3f} | "
            f"{n / median_span:,.0f} |"
        )
        print(
            f"| viewers: first → last tail push (slowest viewer) | {slowest:.3f} | {n / slowest:,.0f} |"
        )
        finished = run["finished_at"].timestamp()
        lag = max(v.last_tail or 0 for v in result.viewers) - finished
        print(f"| last tail push reached the last viewer, after the run finished | {lag:.3f} | |")
    print()
    print(
        f"Run: {run['status']} ({run['summary']}); {run['log_lines']:,} lines, "
        f"{run['log_bytes']:,} bytes stored in {result.chunks} chunks."
    )
    ok &= run["status"] == "succeeded" and run["log_lines"] == n

    rss, marks = result.rss, result.marks
    run_end = result.settled
    print()
    print(
        "| RSS, MB | before viewers | 50 viewers, idle | peak during run | after run (+2 s) "
        "| peak during log download | after download (+2 s) | growth over the run |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in ("web", "worker child", "worker main"):
        idle = rss.at(name, marks["idle"])
        before = mb(result.web_idle_before_viewers) if name == "web" else ""
        peak = rss.peak(name, marks["post"], run_end)
        after = rss.at(name, marks["after"])
        dl_peak = rss.peak(name, result.download["began"], result.download["ended"] + 0.2)
        after_dl = rss.at(name, marks["after download"])
        print(
            f"| {name} | {before} | {mb(idle)} | {mb(peak)} | {mb(after)} | {mb(dl_peak)} "
            f"| {mb(after_dl)} | {(peak - idle) / 1024:+.1f} |"
        )

    dl = result.download
    print()
    print(
        "| full log download (API) | status | lines | bytes | equals seq 1..N | first byte, s | seconds |"
    )
    print("|---|---:|---:|---:|---|---:|---:|")
    print(
        f"| GET …/runs/{{id}}/log | {dl['status']} | {dl['lines']:,} | {dl['bytes']:,} | "
        f"{'yes' if dl['exact'] else 'NO'} | {dl['first_byte']:.3f} | {dl['seconds']:.3f} |"
    )
    ok &= dl["status"] == 200 and dl["lines"] == n and dl["exact"]

    final = str(n)
    pushes = [v.tail_pushes for v in result.viewers]
    print()
    print(
        f"Tail pushes per viewer: min {min(pushes)}, median {statistics.median(pushes):g}, "
        f"max {max(pushes)}; every message: {sum(v.messages for v in result.viewers):,}."
    )
    print()
    print(
        "| viewer | messages | tail pushes | first → last push, s | last tail received: rev "
        "| its last line | shown tail: rev | its last line | correct |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---|")
    correct = 0
    for v in result.viewers:
        good = (
            Viewer.last_line(v.last_text) == final
            and Viewer.last_line(v.shown_text) == final
            and v.shown_rev == n
            and not v.error
        )
        correct += good
        span = (
            f"{v.last_tail - v.first_tail:.3f}"
            if v.first_tail is not None and v.last_tail is not None
            else "-"
        )
        print(
            f"| {v.index} | {v.messages} | {v.tail_pushes} | {span} | {v.last_rev} "
            f"| {Viewer.last_line(v.last_text) or '-'} | {v.shown_rev} "
            f"| {Viewer.last_line(v.shown_text) or '-'} | {'yes' if good else 'NO ' + v.error} |"
        )
    print()
    print(f"Viewers whose final tail ends with line {final}: {correct}/{len(result.viewers)}.")
    ok &= correct == len(result.viewers)
    print("All checks passed." if ok else "SOME CHECKS FAILED.")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--repeats", type=int, default=3, help="baseline repetitions")
    parser.add_argument("--keep", action="store_true", help="keep the service logs")
    args = parser.parse_args(argv)
    try:
        with Stack("log_stream", deadline_seconds=900, keep=args.keep) as stack:
            started = time.monotonic()
            stack.prepare()
            result = measure(stack, lines=args.lines, viewers=args.viewers, repeats=args.repeats)
            return 0 if report(result, args, time.monotonic() - started) else 1
    except KeyboardInterrupt:
        print("interrupted; everything the bench started is stopped", file=sys.stderr)
        return 130
    except BenchBusy as exc:
        print(exc, file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
