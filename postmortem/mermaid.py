"""The phase chart inside the Markdown: a Mermaid ``gantt`` block. A pure function of the phases.

GitHub, GitLab and most Markdown tools draw a ```` ```mermaid ```` block as a
chart; anywhere else it still reads as a list of each phase's planned window
and actual span. Per phase, a section holds a ``planned`` bar and, once the
phase began, an ``actual`` one, tagged ``crit`` (and labelled) when it ran past
its budget. Times are absolute, in UTC, to the second.

Escaping: in a gantt, ``#`` starts a comment and ``:`` and ``;`` end a section
title or a task name, so a phase titled "Restore: step #2" would break the
chart. Mermaid's own escape, the entity code (``#58;`` for a colon), is decoded
when it draws, so titles show as written.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from postmortem.types import PhaseRow

DATE_FORMAT = "YYYY-MM-DD HH:mm:ss"  # Mermaid's (dayjs) spelling of _PYTHON_FORMAT
_PYTHON_FORMAT = "%Y-%m-%d %H:%M:%S"
LETTER_PX, MAX_LABEL_PX = 7, 300  # room for the section titles, beside the bars
# What ends a section title or task name, or starts a comment (mermaid's gantt grammar).
_ENTITIES = {"#": "#35;", ":": "#58;", ";": "#59;"}
_SPECIAL = re.compile("[#:;]")


def mermaid_text(value: str) -> str:
    """``value`` as one line of gantt text: whitespace collapsed, ``#:;`` as entity codes."""
    return _SPECIAL.sub(lambda m: _ENTITIES[m[0]], " ".join(value.split()))


def phase_gantt(phases: Sequence[PhaseRow]) -> str:
    """The gantt diagram's source (without the fence)."""
    times = [t for p in phases for t in (p.planned_start, p.planned_end, _actual_end(p)) if t]
    days = {t.astimezone(UTC).date() for t in times}
    # Mermaid writes section titles over the bars unless the plot leaves them room.
    longest = max((len(f"{p.number}. {p.title}") for p in phases), default=0)
    lines = [
        "---",
        "config:",
        "  gantt:",
        f"    leftPadding: {min(MAX_LABEL_PX, 20 + LETTER_PX * longest)}",
        "---",
        "gantt",
        "    title Phases, planned against actual (UTC)",
        f"    dateFormat {DATE_FORMAT}",
        # A chart spanning midnight needs the day on its axis.
        f"    axisFormat {'%d %b %H:%M' if len(days) > 1 else '%H:%M'}",
        "    todayMarker off",  # a postmortem is read later: "today" means nothing here
    ]
    for phase in phases:
        n = phase.number
        lines.append(f"    section {n}. {mermaid_text(phase.title) or 'Phase'}")
        lines.append(_task("planned", [], f"p{n}_planned", phase.planned_start, phase.planned_end))
        end = _actual_end(phase)
        if phase.started_at is None or end is None:
            continue  # not begun: its planned window alone
        name, tags = "actual", ["done" if phase.ended_at else "active"]
        if phase.ended_at is None:
            name += ", running"
        if phase.overrun_minutes:
            name += f", {phase.overrun_minutes} min over budget"
            tags.insert(0, "crit")
        lines.append(_task(name, tags, f"p{n}_actual", phase.started_at, end))
    return "\n".join(lines)


def _actual_end(phase: PhaseRow) -> datetime | None:
    """When the phase ended; for one still running, the moment the document was made."""
    if phase.ended_at is not None or phase.started_at is None:
        return phase.ended_at
    return phase.started_at + timedelta(seconds=phase.duration_seconds or 0)


def _task(name: str, tags: list[str], task_id: str, start: datetime, end: datetime) -> str:
    data = ", ".join([*tags, task_id, _at(start), _at(end)])
    return f"    {name} : {data}"


def _at(at: datetime) -> str:
    return at.astimezone(UTC).strftime(_PYTHON_FORMAT)
