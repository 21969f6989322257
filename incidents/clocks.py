"""Phase clocks: where a phase stands against its budget window. Pure functions of time.

A phase's window is an offset from the incident's start (MIG-002: phase 2 runs
from minute 15 to minute 60). The state says how the phase is doing against it:

* ``not_started``: not begun, and its window has not closed yet;
* ``on_time``: running with at least 20 % of its window left;
* ``at_risk``: running with less than 20 % of its window left;
* ``overrun``: running (or not yet begun) past the end of its window;
* ``done`` / ``done_late``: ended, within or after its window.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

AT_RISK_FRACTION = 0.2


class ClockState(StrEnum):
    NOT_STARTED = "not_started"
    ON_TIME = "on_time"
    AT_RISK = "at_risk"
    OVERRUN = "overrun"
    DONE = "done"
    DONE_LATE = "done_late"


LABELS = {
    ClockState.NOT_STARTED: "Not started",
    ClockState.ON_TIME: "On time",
    ClockState.AT_RISK: "At risk",
    ClockState.OVERRUN: "Overrun",
    ClockState.DONE: "Done on time",
    ClockState.DONE_LATE: "Done late",
}


def clock_state(
    *,
    planned_start: datetime,
    planned_end: datetime,
    started_at: datetime | None,
    ended_at: datetime | None,
    now: datetime,
) -> ClockState:
    if ended_at is not None:
        return ClockState.DONE if ended_at <= planned_end else ClockState.DONE_LATE
    if now >= planned_end:
        return ClockState.OVERRUN
    if started_at is None:
        return ClockState.NOT_STARTED
    window = planned_end - planned_start
    left = planned_end - now
    if window > timedelta(0) and left < window * AT_RISK_FRACTION:
        return ClockState.AT_RISK
    return ClockState.ON_TIME


def describe(state: ClockState, *, planned_end: datetime, now: datetime) -> str:
    """The sentence for the timeline when a phase's clock changes state."""
    minutes = abs(planned_end - now).total_seconds() / 60
    if state == ClockState.AT_RISK:
        return f"at risk: {minutes:.0f} min left of its budget"
    if state == ClockState.OVERRUN:
        return f"overrun: its budget ended {minutes:.0f} min ago"
    return LABELS[state].lower()
