"""The full-log view on a 200,000-line log: first lines on screen, a jump, a search, in Chromium.

    .venv/bin/python bench/log_view.py [--lines 200000] [--repeat 5]

Starts uvicorn on a database of its own (``ripcord_bench_log_view``, production settings),
stores a finished run whose log is ``--lines`` lines (about 60 bytes each, in 256 KiB
chunks as the log sink stores a fast printer's output; a few lines say ERROR) and opens,
in Chromium (Debian's, headless), as an engineer of the incident:

- the log view (``incidents:run_log_view``): time from navigation to its first lines
  visible (``#L1``);
- a line deep in the log by its anchor (``?line=150000#L150000``): until that line is visible;
- a search (``?q=``) for one line's text and for a rarer word: until the hits are listed,
  with the line numbers checked.

Floors measured in the same run: the raw download of the whole log (``GET .../log/``, read
to the end, outside the browser), and Chromium opening the small sign-in page. Medians and
bests of ``--repeat`` tries. Exits 1 if the first lines take a second or more (median) or a
search misses. Figures are indicative on a shared machine: the load average is printed.

One run (2 CPUs shared with several other test runs, load average 8.9-12.0), median/best ms:
floor: raw download of the whole log (12.5 MB) 540/370; floor: Chromium opens the sign-in
page 618/357; log view HTML (500 lines) without a browser 187/126; first lines visible
844/587; line 150,000 by its anchor 487/398; search "line 123456 of" listed 1235/695;
search "ERROR" (5 hits) listed 795/573 (the server's part: 702/526).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.database import BenchBusy
from bench.stack import Stack, make_user, session_cookie

CHUNK_BYTES = 256 * 1024
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ERROR_EVERY = 40_000
NAVIGATION_TIMING = """() => {
  const n = performance.getEntriesByType("navigation")[0];
  const r = (x) => Math.round(x);
  return {request: r(n.requestStart), firstByte: r(n.responseStart), lastByte: r(n.responseEnd),
          domReady: r(n.domContentLoadedEventEnd), load: r(n.loadEventEnd)};
}"""  # lines 40000, 80000, ... say ERROR


def log_bytes(lines: int) -> bytes:
    return "".join(
        f"{i:>6} line {i} of the restore: copying rows of table users"
        f"{' ERROR retrying' if i % ERROR_EVERY == 0 else ''}\n"
        for i in range(1, lines + 1)
    ).encode()


def store_run(lines: int) -> tuple[Any, Any, int]:
    """A finished run of a fresh incident with a ``lines``-line log; (run, engineer, bytes)."""
    from django.utils import timezone

    from common.capabilities import COMMANDERS, RESPONDERS
    from incidents import services
    from incidents.models import Step, StepRun, StepRunLogChunk
    from tests.factories import make_version

    ic = make_user("ic", COMMANDERS)
    engineer = make_user("backend", RESPONDERS)
    incident = services.open_incident(
        version=make_version(),
        environment="staging",
        title="log view bench",
        severity="sev3",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=engineer.pk, by=ic
    )
    step = Step.objects.filter(incident=incident).order_by("position")[0]
    data = log_bytes(lines)
    now = timezone.now()
    run = StepRun.objects.create(
        step=step,
        incident=incident,
        attempt=1,
        status=StepRun.Status.SUCCEEDED,
        requested_by=engineer,
        requested_at=now,
        started_at=now,
        finished_at=now,
        exit_code=0,
        log_lines=lines,
        log_bytes=len(data),
    )
    chunks, newlines = [], 0
    for seq, start in enumerate(range(0, len(data), CHUNK_BYTES)):
        piece = data[start : start + CHUNK_BYTES]
        chunks.append(StepRunLogChunk(run=run, seq=seq, first_line=newlines, data=piece))
        newlines += piece.count(b"\n")
    StepRunLogChunk.objects.bulk_create(chunks, batch_size=20)
    return run, engineer, len(data)


def timed(action: Any, repeat: int, before: Any = None) -> tuple[float, float]:
    """Median and best ms of ``action`` (``before`` runs untimed ahead of each try)."""
    times = []
    for attempt in range(repeat + 1):
        if before is not None:
            before()
        start = time.perf_counter()
        action()
        if attempt:  # the first warms up: templates compiled, connections open
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), min(times)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    rows: list[tuple[str, float, float]] = []
    failures: list[str] = []
    try:
        with Stack("log_view", deadline_seconds=110) as stack:
            stack.prepare()
            server = stack.start_server()
            run, engineer, size = store_run(args.lines)
            base = server.url
            log_url = f"{base}/incidents/{run.incident_id}/runs/{run.pk}/log/"
            view_url = log_url + "view/"
            cookie = session_cookie(engineer)

            def download() -> None:
                request = urllib.request.Request(log_url, headers={"Cookie": f"sessionid={cookie}"})
                with urllib.request.urlopen(request, timeout=30) as response:
                    got = len(response.read())
                if got != size:
                    failures.append(f"download: {got} bytes of {size}")

            rows.append(
                (
                    f"floor: download the whole log ({size / 1e6:.1f} MB), no browser",
                    *timed(download, args.repeat),
                )
            )

            def view_html(query: str) -> Any:
                def get() -> None:
                    request = urllib.request.Request(
                        view_url + query, headers={"Cookie": f"sessionid={cookie}"}
                    )
                    with urllib.request.urlopen(request, timeout=30) as response:
                        response.read()

                return get

            rows.append(
                ("log view HTML, first 500 lines, no browser", *timed(view_html(""), args.repeat))
            )
            rows.append(
                (
                    "log view HTML, search 'ERROR', no browser",
                    *timed(view_html("?q=ERROR"), args.repeat),
                )
            )

            from playwright.sync_api import sync_playwright

            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
                )
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                context.add_cookies([{"name": "sessionid", "value": cookie, "url": base}])
                page = context.new_page()

                def blank() -> None:  # each try a real navigation, never a same-page jump
                    page.goto("about:blank")

                def sign_in_page() -> None:
                    page.goto(base + "/accounts/login/", wait_until="commit")
                    page.wait_for_selector("form", state="visible")

                def first_lines() -> None:
                    page.goto(view_url, wait_until="commit")
                    page.wait_for_selector("#L1", state="visible")

                deep = min(150_000, args.lines)

                def jump() -> None:
                    page.goto(f"{view_url}?line={deep}#L{deep}", wait_until="commit")
                    page.wait_for_selector(f"#L{deep}", state="visible")

                def search(needle: str, want: list[int]) -> Any:
                    def go() -> None:
                        page.goto(f"{view_url}?q={urllib.parse.quote(needle)}", wait_until="commit")
                        page.wait_for_selector("[data-testid=log-hits]", state="visible")
                        hits = [
                            int(t)
                            for t in page.locator("[data-testid=log-hit]").all_text_contents()
                        ]
                        if hits != want:
                            failures.append(f"search {needle!r}: {hits[:5]} != {want[:5]}")

                    return go

                one = min(123_456, args.lines)
                rows.append(
                    (
                        "floor: Chromium opens the sign-in page",
                        *timed(sign_in_page, args.repeat, blank),
                    )
                )
                rows.append(
                    (
                        f"log view: first lines visible ({args.lines:,} lines)",
                        *timed(first_lines, args.repeat, blank),
                    )
                )
                timing = page.evaluate(NAVIGATION_TIMING)
                print(f"last log view navigation (ms from its start): {timing}", file=sys.stderr)
                rows.append(
                    (
                        f"log view: line {deep:,} by its anchor, visible",
                        *timed(jump, args.repeat, blank),
                    )
                )
                rows.append(
                    (
                        f"log view: search 'line {one} of' -> 1 hit listed",
                        *timed(search(f"line {one} of", [one]), args.repeat, blank),
                    )
                )
                errors = list(range(ERROR_EVERY, args.lines + 1, ERROR_EVERY))
                rows.append(
                    (
                        f"log view: search 'ERROR' -> {len(errors)} hits listed",
                        *timed(search("ERROR", errors), args.repeat, blank),
                    )
                )
                browser.close()
    except BenchBusy as exc:
        print(exc, file=sys.stderr)
        return 2
    print(f"{'200,000-line log, engineer, Chromium headless':60} {'median ms':>9} {'best ms':>8}")
    print("-" * 79)
    for label, median, best in rows:
        print(f"{label:60} {median:9.1f} {best:8.1f}")
    first = next(median for label, median, _ in rows if "first lines" in label)
    if first >= 1000:
        failures.append(f"first lines took {first:.0f} ms (median), not under a second")
    print(
        f"\nmachine: {os.cpu_count()} CPUs; 1-minute load average {load_start:.1f} at start, "
        f"{os.getloadavg()[0]:.1f} at end (shared with other work: indicative figures)"
    )
    for failure in failures:
        print(f"FAIL: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
