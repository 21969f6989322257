"""Where a worker's time goes between claiming a run and the script's start, under cProfile.

    .venv/bin/python bench/profile_run.py [--runs 30] [--top 30] [--sort cumulative]

On its own database (``ripcord_bench_profile_run``, dropped at the end), with the
production settings: a one-step shell runbook whose script is ``true``, one incident
per run (as bench/dispatch.py), each run requested through the service. The task
message is not sent: this process calls the worker's ``execute_run`` itself, so the
profile holds the claim, the "Running" entry's transaction, the environment, the
working folder, the lease keeper, the spawn and the recorded end, and no broker hop.
Prints the claim → script start time (the script writes ``$EPOCHREALTIME`` first, as
in bench/dispatch.py), CPU per run, and the profile's top lines. The push of each
change runs on the worker's push thread (as in a worker) and is not in the profile.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchDatabase, migrate, use_database

SLUG = "bench-profile-run"
SCRIPT = 'printf "%s\\n" "$EPOCHREALTIME" > "$STARTED_DIR/$RIPCORD_RUN_ID"'


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=30)
    p.add_argument("--warmup", type=int, default=3)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--sort", default="cumulative", choices=["tottime", "cumulative"])
    p.add_argument("--db-name", default="ripcord_bench_profile_run")
    p.add_argument("--pg-admin-url", default="postgres://postgres@127.0.0.1:5432/postgres")
    args = p.parse_args(argv)

    use_database(args.pg_admin_url, args.db_name, "bench-" + secrets.token_urlsafe(32))
    database = BenchDatabase(args.db_name, run_id=secrets.token_hex(4), admin_dsn=args.pg_admin_url)
    with tempfile.TemporaryDirectory(prefix="ripcord-profile-run-") as tmp:
        os.environ["RIPCORD_RUN_DIR"] = str(Path(tmp) / "runs")  # before settings are read
        try:
            database.create()
            migrate()
            return _profile(Path(tmp), args)
        finally:
            database.drop()
            database.close()


def _profile(tmp: Path, args: argparse.Namespace) -> int:
    import django

    django.setup()
    started_dir = tmp / "started"
    started_dir.mkdir()

    from bench.stack import make_user, one_step_spec
    from incidents import dispatch, push_thread, services
    from incidents.execution.runner import execute_run
    from incidents.models import StepRun
    from incidents.services import runs
    from tests.factories import make_version

    ic = make_user("ic", "commanders")
    version = make_version(
        one_step_spec(SLUG, {"argv": ["bash", "-c", SCRIPT]}, {"STARTED_DIR": str(started_dir)})
    )
    dispatch.send_on_commit = lambda *a, **k: None  # run here, not sent
    push_thread.enable()

    def one_run(profiler: cProfile.Profile | None) -> tuple[float, float]:
        incident = services.open_incident(
            version=version,
            environment="lab",
            title="profile",
            severity="sev3",
            is_drill=True,
            opened_by=ic,
        )
        step = incident.steps.get(key="act")
        run = runs.request_run(step_id=step.pk, by=ic)
        cpu = time.process_time()
        claimed = time.time()
        if profiler:
            profiler.enable()
        execute_run(run.pk)
        if profiler:
            profiler.disable()
        cpu = time.process_time() - cpu
        first = float((started_dir / str(run.pk)).read_text())
        assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.SUCCEEDED
        return first - claimed, cpu

    for _ in range(args.warmup):
        one_run(None)
    plain = [one_run(None) for _ in range(args.runs)]
    profiler = cProfile.Profile(time.process_time)
    for _ in range(args.runs):
        one_run(profiler)
    push_thread.disable()
    print(
        f"{args.runs} runs: execute_run called → script's first line p50 "
        f"{statistics.median(s for s, _ in plain) * 1000:.1f} ms; CPU of execute_run p50 "
        f"{statistics.median(c for _, c in plain) * 1000:.1f} ms (whole run, end recorded)"
    )
    pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
