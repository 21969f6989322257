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
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchBusy
from bench.log_stream_results import Baseline, Result, RssSampler, Viewer, report
from bench.stack import (
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


def script(lines: int) -> str:
    return f"#!/usr/bin/env bash\nseq 1 {lines}\n"


def expected_log(lines: int) -> bytes:
    return "".join(f"{i}\n" for i in range(1, lines + 1)).encode()


# --- viewers ---------------------------------------------------------------------


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


# --- the benchmark ---------------------------------------------------------------


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
