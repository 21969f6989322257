"""A small reader for the postmortem's Markdown, so tests check structure, not substrings."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])|<br>")


def plain(markdown: str) -> str:
    """Markdown text back to what was written: escapes undone, ``<br>`` a line break."""
    return _UNESCAPE.sub(lambda m: m[1] if m[1] is not None else "\n", markdown)


def _outside_fences(body: str) -> list[str]:
    """The lines of ``body`` that are not inside a fenced code block (nor its fences)."""
    kept, fence = [], ""
    for line in body.splitlines():
        if fence:
            if line.strip().startswith(fence) and set(line.strip()) == {"`"}:
                fence = ""
        elif opening := re.match(r"^(`{3,})", line):
            fence = opening[1]
        else:
            kept.append(line)
    return kept


def _split(body: str, marker: str) -> list[str]:
    """``re.split`` on heading lines ``marker`` + title, but never inside a fenced block."""
    parts: list[str] = []
    current: list[str] = []
    fence = ""
    for line in body.split("\n"):
        if fence and line.strip().startswith(fence) and set(line.strip()) == {"`"}:
            fence = ""
        elif not fence and (opening := re.match(r"^(`{3,})", line)):
            fence = opening[1]
        elif not fence and line.startswith(marker):
            parts += ["\n".join(current) + "\n", line[len(marker) :]]
            current = [""]
            continue
        current.append(line)
    return [*parts, "\n".join(current)]


def sections(document: str) -> tuple[str, list[str], dict[str, str]]:
    """(the text before the first H2, H2 titles in order, title -> body)."""
    parts = _split(document, "## ")
    titles = parts[1::2]
    return parts[0], titles, dict(zip(titles, parts[2::2], strict=True))


def split_row(line: str) -> list[str]:
    """Cells of a table row, split on unescaped pipes (cells stay Markdown)."""
    cells, current, i = [], "", 0
    body = line.strip().removeprefix("|").removesuffix("|")
    while i < len(body):
        if body[i] == "\\" and i + 1 < len(body):
            current += body[i : i + 2]
            i += 2
        elif body[i] == "|":
            cells.append(current.strip())
            current, i = "", i + 1
        else:
            current += body[i]
            i += 1
    return [*cells, current.strip()]


def tables(body: str) -> list[list[dict[str, str]]]:
    """Every table in ``body``, as rows of header -> cell (cells stay Markdown)."""
    found, block = [], []
    for line in [*_outside_fences(body), ""]:
        if line.startswith("|"):
            block.append(line)
            continue
        if block:
            header = split_row(block[0])
            assert set(block[1].replace("|", "").split()) == {"---"}, block[1]
            found.append([dict(zip(header, split_row(row), strict=True)) for row in block[2:]])
            block = []
    return found


def bullets(body: str) -> list[str]:
    return [line[2:] for line in _outside_fences(body) if line.startswith("- ")]


def h3_blocks(body: str) -> dict[str, str]:
    parts = _split(body, "### ")
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def fences(body: str) -> list[tuple[str, str]]:
    """Every fenced code block in ``body``: (info string, content verbatim)."""
    found, lines = [], body.splitlines()
    i = 0
    while i < len(lines):
        opening = re.match(r"^(`{3,})(.*)$", lines[i])
        if not opening:
            i += 1
            continue
        end = i + 1
        while not (lines[end].startswith(opening[1]) and set(lines[end].strip()) == {"`"}):
            end += 1  # an unclosed fence is a bug in the writer: IndexError says so
        found.append((opening[2].strip(), "\n".join(lines[i + 1 : end])))
        i = end + 1
    return found


@dataclass(frozen=True)
class GanttTask:
    name: str
    tags: list[str]
    id: str
    start: datetime
    end: datetime


GANTT_TAGS = {"active", "done", "crit", "milestone"}


def gantt(source: str) -> dict[str, list[GanttTask]]:
    """A Mermaid gantt diagram's tasks by section, entity codes (``#58;``) decoded.

    Reads what ``postmortem.mermaid`` writes: explicit start and end
    times in its ``dateFormat``. Fails on any line it does not understand.
    """
    lines = source.splitlines()
    if lines[0] == "---":  # front matter: Mermaid's configuration, YAML
        lines = lines[lines.index("---", 1) + 1 :]
    first, *lines = [line.strip() for line in lines]
    assert first == "gantt", first
    by_section: dict[str, list[GanttTask]] = {}
    section = None
    for line in lines:
        keyword, _, rest = line.partition(" ")
        if keyword == "section":
            section = _entities(rest)
            assert section not in by_section, f"two sections {section!r}"
            by_section[section] = []
        elif " : " in line:
            assert section is not None, f"a task before any section: {line!r}"
            name, data = line.split(" : ")
            *tags, task_id, start, end = [part.strip() for part in data.split(",")]
            assert set(tags) <= GANTT_TAGS, tags
            task = GanttTask(_entities(name), tags, task_id, _time(start), _time(end))
            by_section[section].append(task)
        elif keyword == "dateFormat":
            assert rest == "YYYY-MM-DD HH:mm:ss", rest  # what _time reads
        else:
            assert keyword in {"title", "axisFormat", "todayMarker"}, line
    return by_section


def _entities(text: str) -> str:
    """Mermaid's entity codes back to characters; a bare ``#``, ``:`` or ``;`` is an error."""
    assert not re.search(r"[#:;]", re.sub(r"#\d+;", "", text)), f"unescaped in {text!r}"
    return re.sub(r"#(\d+);", lambda m: chr(int(m[1])), text)


def _time(value: str) -> datetime:
    return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
