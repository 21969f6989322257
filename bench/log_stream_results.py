"""What the log-streaming bench (bench/log_stream.py) observes, and its report.

A ``Viewer`` is one socket and the tail it would show (applied as static/js/live.js
applies pushes); ``RssSampler`` samples resident memory of the web and worker
processes; ``report`` prints the tables and says whether every check held.
"""

from __future__ import annotations

import argparse
import html
import os
import platform
import re
import statistics
import subprocess
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bench.stack import ROOT, rss_kb

TAIL = re.compile(r'<pre id="run-tail-(\d+)"[^>]*?data-rev="(\d+)"[^>]*>(.*?)</pre>', re.S)
SAMPLE_SECONDS = 0.1


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
