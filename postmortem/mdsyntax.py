"""Markdown building blocks: escaped text, code spans and blocks, tables, times, durations.

User text (titles, reasons, notes) may hold any character. ``text`` makes it
literal text in any inline position, table cells included: Markdown's special
characters are backslash-escaped (CommonMark allows that for every ASCII
punctuation character), pipes cannot end a cell, and line breaks become
``<br>``, the one piece of inline HTML the document uses, so a multi-line
reason never breaks a table row or a list item.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime

BR = "<br>"
EMPTY = "—"

# Escaped wherever they appear: each can open emphasis, code, a link, an HTML
# tag, an entity, a table cell or a heading's closing sequence.
_ALWAYS = set("\\`*[]<>|&~#")
# Escaped at the start only: there they could open a list, quote or heading.
_LEADING = re.compile(r"^([-+=]|\d+(?=[.)]))")


def text(value: str) -> str:
    """``value`` as literal Markdown text on one line (line breaks become ``<br>``)."""
    lines = value.strip().replace("\r\n", "\n").replace("\r", "\n").split("\n")
    escaped = BR.join(_escape_line(line) for line in lines)
    # "-" becomes "\-"; "1." becomes "1\." (a backslash before a digit would be literal).
    return _LEADING.sub(
        lambda m: m[1] + "\\" if m[1][0].isdigit() else "\\" + m[1], escaped, count=1
    )


def _escape_line(line: str) -> str:
    out = []
    for i, char in enumerate(line):
        if char in _ALWAYS:
            out.append("\\" + char)
        elif char == "_" and not _inside_word(line, i):
            out.append("\\_")
        else:
            out.append(char)
    return "".join(out)


def _inside_word(line: str, i: int) -> bool:
    """An underscore between letters or digits never emphasises (user_accounts_exist)."""
    return 0 < i < len(line) - 1 and line[i - 1].isalnum() and line[i + 1].isalnum()


def cell(value: str | None) -> str:
    """A table cell: escaped text, or a dash when there is nothing to say."""
    return text(value) if value and value.strip() else EMPTY


def code(value: str) -> str:
    """An inline code span holding ``value`` verbatim (on one line)."""
    value = " ".join(value.split())
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if value.startswith("`") or value.endswith("`") else ""
    return f"{fence}{pad}{value}{pad}{fence}"


def fenced(content: str, info: str = "") -> str:
    """A fenced code block holding ``content`` verbatim, whatever backticks it holds."""
    content = content.replace("\r\n", "\n").rstrip("\n")
    longest = max((len(run) for run in re.findall(r"`+", content)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{info}\n{content}\n{fence}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A GFM table; ``header`` and ``rows`` are already Markdown (see ``cell``)."""
    lines = [_row(header), _row(["---"] * len(header))]
    lines += [_row(row) for row in rows]
    return "\n".join(lines)


def _row(cells: Sequence[str]) -> str:
    return "| " + " | ".join(cells) + " |"


def bullets(items: Sequence[str]) -> str:
    return "\n".join(f"- {item}" for item in items)


def day_of(at: datetime) -> date:
    return at.astimezone(UTC).date()


def stamp(at: datetime) -> str:
    """Date and minute, for the summary: 2026-11-25 09:00 UTC."""
    return f"{at.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


def clock(at: datetime | None, day: date, *, seconds: bool = True) -> str:
    """Time of day in UTC; the date too when it is not the incident's first day."""
    if at is None:
        return EMPTY
    utc = at.astimezone(UTC)
    time = f"{utc:%H:%M:%S}" if seconds else f"{utc:%H:%M}"
    return time if utc.date() == day else f"{utc:%Y-%m-%d} {time}"


def duration(seconds: float | None) -> str:
    """1h 05m, 16m 00s, 45s."""
    if seconds is None:
        return EMPTY
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"
