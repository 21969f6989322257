"""A small reader for the postmortem's Markdown, so tests check structure, not substrings."""

from __future__ import annotations

import re

_UNESCAPE = re.compile(r"\\([!-/:-@\[-`{-~])|<br>")


def plain(markdown: str) -> str:
    """Markdown text back to what was written: escapes undone, ``<br>`` a line break."""
    return _UNESCAPE.sub(lambda m: m[1] if m[1] is not None else "\n", markdown)


def sections(document: str) -> tuple[str, list[str], dict[str, str]]:
    """(the text before the first H2, H2 titles in order, title -> body)."""
    parts = re.split(r"^## (.+)$", document, flags=re.MULTILINE)
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
    for line in [*body.splitlines(), ""]:
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
    return [line[2:] for line in body.splitlines() if line.startswith("- ")]


def h3_blocks(body: str) -> dict[str, str]:
    parts = re.split(r"^### (.+)$", body, flags=re.MULTILINE)
    return dict(zip(parts[1::2], parts[2::2], strict=True))
