from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from incidents.clocks import ClockState, clock_state

T0 = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
START, END = T0 + timedelta(minutes=15), T0 + timedelta(minutes=60)  # a 45-minute window


def state(now_min: float, started_min: float | None = 15, ended_min: float | None = None):
    at = lambda m: None if m is None else T0 + timedelta(minutes=m)  # noqa: E731
    return clock_state(
        planned_start=START,
        planned_end=END,
        started_at=at(started_min),
        ended_at=at(ended_min),
        now=T0 + timedelta(minutes=now_min),
    )


@pytest.mark.parametrize(
    ("now", "started", "ended", "expected"),
    [
        (10, None, None, ClockState.NOT_STARTED),
        (20, 15, None, ClockState.ON_TIME),
        (50.9, 15, None, ClockState.ON_TIME),  # 9.1 min left of 45: more than 20 %
        (51.1, 15, None, ClockState.AT_RISK),  # 8.9 min left: less than 20 %
        (60, 15, None, ClockState.OVERRUN),
        (70, None, None, ClockState.OVERRUN),  # never started, window gone
        (70, 15, 55, ClockState.DONE),
        (70, 15, 65, ClockState.DONE_LATE),
    ],
)
def test_clock_state_follows_the_budget_window(now, started, ended, expected):
    assert state(now, started, ended) == expected
