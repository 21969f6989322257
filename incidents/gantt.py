"""The phase chart: planned window beside actual span per phase, with a "now" line.

Rendered on the server from stored times (no chart library to install); the
browser only slides the "now" line and stretches the running phase's bar to it
(static/js/clocks.js). The postmortem draws it as SVG (``x``/``width`` in the SVG's
units); the incident page draws the same geometry as HTML bars positioned in percent
of the plot (``left``/``span``), which reflow to any width with readable labels
instead of shrinking with a scaled-down drawing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from incidents.models import Incident, Phase

WIDTH, LABEL_W, ROW_H, TOP, BAR_H, RIGHT_PAD = 760, 190, 34, 26, 10, 24
PLOT_W = WIDTH - LABEL_W - RIGHT_PAD


def percent(x: float) -> float:
    """An SVG x as a percentage of the plot's width (the HTML chart's unit)."""
    return round(100 * (x - LABEL_W) / PLOT_W, 3)


@dataclass(frozen=True)
class Bar:
    x: float
    width: float

    @property
    def left(self) -> float:
        return percent(self.x)

    @property
    def span(self) -> float:
        return round(100 * self.width / PLOT_W, 3)


@dataclass(frozen=True)
class Row:
    phase: Phase
    y: float
    planned: Bar
    actual: Bar | None
    late: bool


@dataclass(frozen=True)
class Tick:
    x: float
    label: str

    @property
    def left(self) -> float:
        return percent(self.x)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    rows: list[Row]
    ticks: list[Tick]
    now_x: float | None
    start: datetime
    end: datetime
    label_w: int = LABEL_W
    right_pad: int = RIGHT_PAD

    bar_h: int = BAR_H

    @property
    def now_left(self) -> float | None:
        return None if self.now_x is None else percent(self.now_x)


def build_chart(incident: Incident, phases: list[Phase], now: datetime) -> Chart:
    start = incident.opened_at
    last = max([p.planned_end_at for p in phases] + [p.ended_at or start for p in phases] + [start])
    live_now = now if incident.resolved_at is None else None
    end = max(last, live_now or last, start + timedelta(minutes=15))
    span = (end - start).total_seconds()

    def x(at: datetime) -> float:
        return round(LABEL_W + PLOT_W * (at - start).total_seconds() / span, 1)

    def bar(a: datetime, b: datetime) -> Bar:
        return Bar(x(a), max(1.0, round(x(b) - x(a), 1)))

    rows = []
    for i, phase in enumerate(phases):
        actual = None
        if phase.started_at is not None:
            actual = bar(phase.started_at, phase.ended_at or now)
        late = (phase.ended_at or now) > phase.planned_end_at and phase.started_at is not None
        rows.append(
            Row(
                phase,
                TOP + i * ROW_H,
                bar(phase.planned_start_at, phase.planned_end_at),
                actual,
                late,
            )
        )
    step = _tick_minutes(span / 60)
    ticks = [
        Tick(x(start + timedelta(minutes=m)), f"{m // 60}h{m % 60:02d}" if m >= 60 else f"{m}m")
        for m in range(0, int(span // 60) + 1, step)
    ]
    return Chart(
        WIDTH,
        TOP + len(phases) * ROW_H + 8,
        rows,
        ticks,
        x(live_now) if live_now else None,
        start,
        end,
    )


def _tick_minutes(total_minutes: float) -> int:
    for step in (5, 15, 30, 60, 120):
        if total_minutes / step <= 10:
            return step
    return 240
