"""Results of the live fan-out bench (bench/live_fanout.py): what one trial saw, and the tables.

A trial is one design (Ripcord or the floor) at one number of viewers; an event
is one change and the moment each viewer received it.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field


def percentile(values: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (q in 0..100); NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


@dataclass
class Event:
    t_call: float  # just before the API call / PUBLISH
    t0: float  # just after it returned
    times: list[float | None]  # receipt per viewer; None = missed


@dataclass
class Trial:
    design: str
    n: int
    audiences: list[str]
    events: list[Event] = field(default_factory=list)
    connect_s: float = float("nan")
    connect_errors: dict[str, int] = field(default_factory=dict)
    rss_idle_mb: float = float("nan")
    rss_after_mb: float = float("nan")
    cpu_ms_per_event: float = float("nan")
    payload_bytes: int = 0
    dropped: int = 0
    db_connections: int | None = None  # the bench database's sessions after the events

    def latencies(self, audience: str | None = None) -> list[float]:
        return [
            (t - e.t0) * 1000
            for e in self.events
            for t, a in zip(e.times, self.audiences, strict=True)
            if t is not None and (audience is None or a == audience)
        ]

    def missed(self, audience: str | None = None) -> int:
        return sum(
            t is None
            for e in self.events
            for t, a in zip(e.times, self.audiences, strict=True)
            if audience is None or a == audience
        )

    def last_viewer(self, *, from_call: bool = False) -> list[float]:
        out = []
        for e in self.events:
            got = [t for t in e.times if t is not None]
            if got:
                out.append((max(got) - (e.t_call if from_call else e.t0)) * 1000)
        return out

    def call_ms(self) -> list[float]:
        return [(e.t0 - e.t_call) * 1000 for e in self.events]


def fmt(value: float, digits: int = 1) -> str:
    return "-" if value != value else f"{value:.{digits}f}"  # NaN → "-"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "  ".join(
        h.ljust(w) if i == 0 else h.rjust(w)
        for i, (h, w) in enumerate(zip(headers, widths, strict=True))
    )
    out = [line, "-" * len(line)]
    for r in rows:
        out.append(
            "  ".join(
                c.ljust(w) if i == 0 else c.rjust(w)
                for i, (c, w) in enumerate(zip(r, widths, strict=True))
            )
        )
    return "\n".join(out)


def report(trials: list[Trial], args: argparse.Namespace) -> str:
    order = sorted(trials, key=lambda t: (t.n, t.design != "floor"))
    main_rows = []
    for t in order:
        lat, last = t.latencies(), t.last_viewer()
        main_rows.append(
            [
                t.design,
                str(t.n),
                fmt(percentile(lat, 50)),
                fmt(percentile(lat, 99)),
                fmt(max(lat, default=float("nan"))),
                fmt(percentile(last, 50)),
                fmt(percentile(last, 99)),
                str(t.missed()),
            ]
        )
    audience_rows = []
    for t in order:
        if t.design != "ripcord":
            continue
        for audience in ("view", "act"):
            lat = t.latencies(audience)
            audience_rows.append(
                [
                    f"ripcord/{audience}",
                    str(t.n),
                    str(t.audiences.count(audience)),
                    fmt(percentile(lat, 50)),
                    fmt(percentile(lat, 99)),
                    fmt(max(lat, default=float("nan"))),
                    str(t.missed(audience)),
                ]
            )
    side_rows = []
    for t in order:
        errors = ", ".join(f"{v} {k}" for k, v in sorted(t.connect_errors.items())) or "0"
        side_rows.append(
            [
                t.design,
                str(t.n),
                fmt(t.connect_s, 2),
                errors,
                str(t.dropped),
                fmt(percentile(t.call_ms(), 50)),
                fmt(percentile(t.last_viewer(from_call=True), 50)),
                fmt(percentile(t.last_viewer(from_call=True), 99)),
                f"{fmt(t.rss_idle_mb)} → {fmt(t.rss_after_mb)}",
                fmt(t.cpu_ms_per_event, 2),
                str(t.payload_bytes),
                "-" if t.db_connections is None else str(t.db_connections),
            ]
        )
    k = len(order[0].events) if order else 0
    return "\n\n".join(
        [
            f"Latency from the API call's (or PUBLISH's) return to receipt, ms; "
            f"{k} isolated events per row, spaced {args.spacing_ms} ms; "
            f"missed = (event, viewer) pairs not received within {args.miss_after} s.",
            table(
                [
                    "design",
                    "N",
                    "p50 ms",
                    "p99 ms",
                    "max ms",
                    "last-viewer p50",
                    "last-viewer p99",
                    "missed",
                ],
                main_rows,
            ),
            "Ripcord by audience (view = viewers group, act = responders):",
            table(
                ["design", "N", "sockets", "p50 ms", "p99 ms", "max ms", "missed"], audience_rows
            ),
            "Connects and server (server = uvicorn for ripcord, relay for floor; "
            "'from call' = last viewer timed from before the API call / PUBLISH; "
            "db conns = PostgreSQL sessions on the bench database after the events):",
            table(
                [
                    "design",
                    "N",
                    "connect all s",
                    "connect failures",
                    "dropped",
                    "call p50 ms",
                    "last-viewer p50 from call",
                    "p99 from call",
                    "server RSS MB idle → N",
                    "server CPU ms/event",
                    "payload B",
                    "db conns",
                ],
                side_rows,
            ),
        ]
    )


# --- the run ------------------------------------------------------------------
