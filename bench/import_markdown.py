"""Markdown import: the whole public corpus and a 5 MB document, beside markdown-it-py's parse alone.

    .venv/bin/python bench/import_markdown.py [--rounds 5]

No database, no server: everything runs in this process. For each document it
times, as the median of ``--rounds``:

- the floor: ``MarkdownIt.parse`` alone, with the importer's configuration
  (CommonMark, tables, front matter, task lists);
- the import: ``import_markdown`` (parse, sections, steps, phases, the typed spec);
- the command: ``manage.py import_runbook`` end to end (import, YAML, writing the
  folder and running ``check_runbook``'s code on it), into a fresh temp folder.

Documents: every file of ``../shared/corpus/runbooks`` (as one total), the seed
plan, a 5 MB document (the seed plan followed by 5 MB of prose notes: it imports)
and 5 MB of short lines (refused at the line limit: the time to say so). For the
5 MB document it also reports memory: the peak traced by ``tracemalloc`` during
one import, and the growth of the process's peak RSS (``resource.getrusage``)
across it. Prints a table; exits 1 if an import that should succeed fails.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.test_settings")

import django

django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.management.base import CommandError  # noqa: E402

from runbooks.importers.markdown import import_markdown  # noqa: E402
from runbooks.importers.markdown.tokens import parser  # noqa: E402
from runbooks.importers.problems import RunbookError  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
PLAN = SHARED / "mission" / "rollback-plan-MIG-002.md"
CORPUS = SHARED / "corpus" / "runbooks"


def median_ms(action: Callable[[], object], rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        action()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def floor(data: bytes) -> None:
    parser().parse(data.decode("utf-8", errors="replace"))


def imported(data: bytes) -> None:
    with contextlib.suppress(RunbookError):  # a refusal is an outcome too: its time is measured
        import_markdown(data, path="bench.md")


def command(path: Path) -> bool:
    with tempfile.TemporaryDirectory() as tmp:
        try:
            call_command(
                "import_runbook",
                str(path),
                out=str(Path(tmp) / "out"),
                stdout=io.StringIO(),
                stderr=io.StringIO(),
            )
        except CommandError:
            return False
    return True


Row = tuple[str, int, float, float, float, bool]


def measure(label: str, paths: list[Path], rounds: int, floor_rounds: int | None = None) -> Row:
    """(label, bytes, floor ms, import ms, command ms, whether every command imported)."""
    datas = [path.read_bytes() for path in paths]

    def parse_all() -> None:
        for data in datas:
            floor(data)

    def import_all() -> None:
        for data in datas:
            imported(data)

    floor_ms = median_ms(parse_all, floor_rounds or rounds)
    import_ms = median_ms(import_all, rounds)
    outcomes: list[bool] = []
    command_ms = median_ms(lambda: outcomes.extend(command(path) for path in paths), rounds)
    return label, sum(map(len, datas)), floor_ms, import_ms, command_ms, all(outcomes)


def memory(data: bytes) -> tuple[float, float]:
    """(tracemalloc peak MB, growth of the peak RSS in MB) over one import."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    imported(data)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6, (after - before) / 1024


def main() -> int:
    args = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    args.add_argument("--rounds", type=int, default=5)
    rounds = args.parse_args().rounds
    with tempfile.TemporaryDirectory() as tmp:
        big = Path(tmp) / "five-megabytes.md"
        prose = (
            "Background prose about the service, its history and its quirks. " * 30 + "\n\n"
        ) * 2600
        big.write_bytes(PLAN.read_bytes() + b"\n## Notes\n\n" + prose.encode())
        lines = Path(tmp) / "five-megabytes-of-lines.md"
        lines.write_bytes(b"word\n" * 1_100_000)
        # Memory first, before the timing runs have raised the process's peak RSS.
        traced, rss = memory(big.read_bytes())
        corpus = sorted(CORPUS.glob("*.md"))
        rows = [
            measure(f"corpus ({len(corpus)} files, total)", corpus, rounds),
            measure("seed plan (MIG-002)", [PLAN], rounds),
            measure("5 MB: seed plan + prose", [big], rounds),
            # Its floor is slow (markdown-it-py has per-block costs): one round is enough.
            measure("5 MB of short lines (refused)", [lines], rounds, floor_rounds=1),
        ]
    head = f"{'document':<34} {'bytes':>10} {'parse (floor)':>14} {'import':>10} {'command':>10}"
    print(f"{head} {'import/floor':>13}")
    for label, size, floor_ms, import_ms, command_ms, _ in rows:
        ratio = import_ms / floor_ms if floor_ms else 0.0
        print(
            f"{label:<34} {size:>10,} {floor_ms:>11.1f} ms {import_ms:>7.1f} ms"
            f" {command_ms:>7.1f} ms {ratio:>12.2f}x"
        )
    print(f"5 MB import memory: tracemalloc peak {traced:.0f} MB, peak RSS growth {rss:.0f} MB")
    print(
        f"(median of {rounds} rounds; command = manage.py import_runbook: import, YAML, write, check)"
    )
    failed = [row[0] for row in rows[:3] if not row[5]]
    if failed:
        print(f"FAILED to import: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
