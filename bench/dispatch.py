"""Dispatch latency: from the API's "run" returning to the step's process running.

    .venv/bin/python bench/dispatch.py [--runs 200] [--warmup 5]

Starts uvicorn and one Celery worker (prefork, concurrency 1, prefetch 1) on a
database of its own (``ripcord_bench_dispatch``) with the production settings,
then for each of ``--runs`` rounds, one after the other so the worker is idle:

- floor: ``bench.noop`` (bench/celery_noop.py, loaded by the worker with
  ``--include``) is sent with ``apply_async``; latency = the task body's
  ``time.time()`` minus the moment ``apply_async`` returned. Broker hop and the
  prefork pool's hand-off, nothing of Ripcord.
- Ripcord: ``POST /api/v1/incidents/{id}/steps/{step}/run`` on a fresh incident
  of a one-step shell runbook; latency = the script's first action (``$EPOCHREALTIME``,
  a bash builtin, written to a file named by the run id) minus the moment the API
  call returned.
- the shell executor alone, in this process: ``ShellExecutor().run()`` called →
  the same script's timestamp. What spawning bash costs without Celery or Django.

All clocks are this machine's ``time.time()``. Warm-up rounds are left out.
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchBusy
from bench.stack import (
    ROOT,
    Stack,
    make_user,
    open_incident,
    percentile,
    wait_for,
    write_runbook,
)

SLUG = "bench-dispatch"
PAUSE = 0.1  # after each round, so the worker is back waiting on the broker
SCRIPT = """\
#!/usr/bin/env bash
# First, before anything else: note when this process started. $EPOCHREALTIME is a
# bash builtin, so reading the clock starts no other process.
printf '%s\\n' "$EPOCHREALTIME" > "$STARTED_DIR/$RIPCORD_RUN_ID"
"""


@dataclass
class Samples:
    floor: list[float] = field(default_factory=list)
    ripcord: list[float] = field(default_factory=list)
    clicked: list[float] = field(default_factory=list)  # POST sent → script started
    executor: list[float] = field(default_factory=list)
    api_call: list[float] = field(default_factory=list)  # POST sent → response read
    to_row: list[float] = field(default_factory=list)  # POST sent → run row's requested_at
    to_claim: list[float] = field(default_factory=list)  # API returned → started_at (claim)
    claim_to_script: list[float] = field(default_factory=list)  # started_at → script started


def read_timestamp(path: Path, *, timeout: float = 20) -> float:
    """The float a script or task wrote to ``path`` (complete once it ends with a newline)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            text = path.read_text()
        except FileNotFoundError:
            text = ""
        if text.endswith("\n"):
            return float(text)
        if time.monotonic() > deadline:
            raise TimeoutError(f"nothing written to {path} within {timeout}s")
        time.sleep(0.001)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the service logs")
    parser.add_argument(
        "--db-pool",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="RIPCORD_DB_POOL for the server (as compose.yaml's web)",
    )
    args = parser.parse_args(argv)
    rounds = args.warmup + args.runs
    try:
        with Stack("dispatch", deadline_seconds=300 + 4 * rounds, keep=args.keep) as stack:
            started = time.monotonic()
            stack.prepare()
            samples = measure(stack, warmup=args.warmup, runs=args.runs, db_pool=args.db_pool)
            print_report(samples, args, took=time.monotonic() - started)
    except KeyboardInterrupt:
        print("interrupted; everything the bench started is stopped", file=sys.stderr)
        return 130
    except BenchBusy as exc:
        print(exc, file=sys.stderr)
        return 2
    return 0


def measure(stack: Stack, *, warmup: int, runs: int, db_pool: bool) -> Samples:
    from common.capabilities import COMMANDERS
    from common.tokens import create_token
    from incidents.models import StepRun
    from runbooks.executors.base import Execution
    from runbooks.executors.shell import ShellExecutor
    from tests.integration.http import ApiClient

    started_dir = stack.work / "started"
    floor_dir = stack.work / "floor"
    started_dir.mkdir()
    floor_dir.mkdir()
    write_runbook(
        stack.work / "runbook",
        slug=SLUG,
        script=SCRIPT,
        variables={"STARTED_DIR": str(started_dir)},
    )
    commander = make_user("ic", COMMANDERS)
    server = stack.start_server(RIPCORD_DB_POOL="1" if db_pool else "0")
    worker = stack.start_worker(include=["bench.celery_noop"])
    stack.use_broker()
    from bench.celery_noop import noop

    api = ApiClient(server.url, create_token(commander, "bench")[1])
    rounds = warmup + runs
    print(f"opening {rounds} incidents…", flush=True)
    incidents = [open_incident(api, SLUG, f"dispatch {i}") for i in range(rounds)]
    stack.wait_worker_idle(worker, timeout=300)  # each opening queued preflight and snapshot

    executor = ShellExecutor()
    samples = Samples()
    print(f"{warmup} warm-up rounds, then {runs} measured…", flush=True)
    for i, (incident_id, step_id) in enumerate(incidents):
        keep = i >= warmup

        # The floor: an empty task through the same broker, queue and worker.
        target = floor_dir / str(i)
        noop.apply_async(args=(str(target),), queue="default")
        returned = time.time()
        entered = read_timestamp(target)
        time.sleep(PAUSE)

        # Ripcord: the API's run, to the script's first line.
        sent = time.time()
        response = api.post(f"/incidents/{incident_id}/steps/{step_id}/run")
        returned_api = time.time()
        if response.status_code != 201:
            raise RuntimeError(f"run refused: {response.status_code} {response.body!r}")
        run_id = int(response.json()["id"])
        script_started = read_timestamp(started_dir / str(run_id))

        def finished(run_id: int = run_id) -> bool:
            return not StepRun.objects.filter(pk=run_id, status__in=StepRun.ACTIVE).exists()

        wait_for(
            finished,
            timeout=30,
            what=f"run {run_id} to finish",
            interval=0.01,
        )
        run = StepRun.objects.get(pk=run_id)
        if run.status != StepRun.Status.SUCCEEDED or run.started_at is None:
            raise RuntimeError(f"run {run_id} {run.status}: {run.summary}")
        time.sleep(PAUSE)

        # The shell executor alone, here: no broker, no Django around it.
        alone = stack.work / f"alone-{i}"
        execution = Execution(
            run_id=i,
            command={"script": "scripts/step.sh"},
            env={"STARTED_DIR": str(started_dir), "RIPCORD_RUN_ID": f"alone-{i}"},
            workdir=alone,
            files={"scripts/step.sh": SCRIPT},
            timeout_seconds=30,
        )
        called = time.time()
        outcome = executor.run(execution, emit=lambda data: None, should_stop=lambda: False)
        executor_started = read_timestamp(started_dir / f"alone-{i}")
        if not outcome.succeeded:
            raise RuntimeError(f"the executor alone failed: {outcome.summary}")

        if keep:
            samples.floor.append(entered - returned)
            samples.ripcord.append(script_started - returned_api)
            samples.clicked.append(script_started - sent)
            samples.executor.append(executor_started - called)
            samples.api_call.append(returned_api - sent)
            samples.to_row.append(run.requested_at.timestamp() - sent)
            samples.to_claim.append(run.started_at.timestamp() - returned_api)
            samples.claim_to_script.append(script_started - run.started_at.timestamp())
        if (i + 1) % 50 == 0:
            print(f"  {i + 1}/{rounds}", flush=True)
    return samples


def ms(value: float) -> str:
    return f"{value * 1000:.1f}"


def row(label: str, values: Sequence[float]) -> str:
    p50, p99 = percentile(values, 50), percentile(values, 99)
    return f"| {label} | {ms(p50)} | {ms(p99)} | {ms(max(values))} | {ms(min(values))} |"


def print_report(samples: Samples, args: argparse.Namespace, *, took: float) -> None:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    n = len(samples.ripcord)
    print()
    print(
        f"dispatch latency — {n} runs each (after {args.warmup} warm-up rounds), interleaved; "
        f"commit {commit}; {os.cpu_count()} CPUs; load {load}; "
        f"Python {platform.python_version()}; {took:.0f} s in all; "
        f"server DB pool {'on' if args.db_pool else 'off'}; worker push thread "
        f"{os.environ.get('RIPCORD_WORKER_PUSH_THREAD', '1 (default)')}"
    )
    print()
    print("| ms | p50 | p99 | max | min |")
    print("|---|---:|---:|---:|---:|")
    print(row("floor: empty Celery task (apply_async returned → task body)", samples.floor))
    print(row("Ripcord: API run returned → script's first line", samples.ripcord))
    p50 = percentile(samples.ripcord, 50) - percentile(samples.floor, 50)
    p99 = percentile(samples.ripcord, 99) - percentile(samples.floor, 99)
    top = max(samples.ripcord) - max(samples.floor)
    print(
        f"| difference (Ripcord - floor, of the percentiles) | {ms(p50)} | {ms(p99)} | {ms(top)} | |"
    )
    print()
    print("Where Ripcord's time goes (each part measured on its own; same machine clock):")
    print()
    print("| ms | p50 | p99 | max | min |")
    print("|---|---:|---:|---:|---:|")
    print(row("POST sent → script's first line (what the person waits for)", samples.clicked))
    print(row("API call: POST sent → response read", samples.api_call))
    print(row("  of which POST sent → run row created (requested_at)", samples.to_row))
    print(row("API returned → worker claimed the run (started_at)", samples.to_claim))
    print(row("worker claimed → script's first line", samples.claim_to_script))
    print(row("ShellExecutor.run() alone, here → script's first line", samples.executor))


if __name__ == "__main__":
    sys.exit(main())
