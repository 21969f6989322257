"""Markdown text → markdown-it-py block tokens, with unclosed code fences repaired.

CommonMark plus tables (GFM pipe tables), front matter and task lists. A code
fence that is never closed swallows the rest of the document, which is how
authors' slips read in a renderer but never what they meant (the corpus has
one: a ```shell block holding a ```sql opener holding the next section). Such a
fence is closed where the author evidently went on: before an inner opening
fence, or else before a Markdown heading of level two or more that follows a
blank line. Each repair is reported, with both lines, for a person to confirm.
"""

from __future__ import annotations

from dataclasses import dataclass

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from runbooks.importers.problems import Problem, RunbookError

MAX_LEVEL = 36
"""Deepest token level accepted: about 17 nested lists. markdown-it silently drops what is
nested deeper than its ``maxNesting``, so deeper input is refused before that can happen."""
MAX_REPAIRS = 10
MAX_REPARSED = 2_000_000
"""Each repair parses the document again: at most this many characters are re-parsed in all."""
MAX_LIST_ITEMS = 2000
"""The task-list plugin looks back for each item's parent (quadratic in items), so items are
counted right after block parsing, before it runs."""


@dataclass(frozen=True, slots=True)
class Repair:
    opened_line: int  # 1-based line of the fence that was never closed
    closed_before: int  # 1-based line before which a closing fence was assumed


def parser(path: str = "") -> MarkdownIt:
    md = MarkdownIt("commonmark", {"maxNesting": MAX_LEVEL + 4}).enable("table")
    md.use(front_matter_plugin).use(tasklists_plugin)

    def limit_items(state: StateCore) -> None:
        items = 0
        for token in state.tokens:
            if token.type == "list_item_open":
                items += 1
                if items > MAX_LIST_ITEMS:
                    line = token.map[0] + 1 if token.map else 1
                    raise RunbookError(
                        [Problem(path, line, "", f"more than {MAX_LIST_ITEMS} list items")]
                    )

    md.core.ruler.after("block", "ripcord_list_limit", limit_items)
    return md


def parse(text: str, *, path: str) -> tuple[list[Token], list[Repair]]:
    """Block tokens of ``text`` (fences repaired) and the repairs made, in the file's lines."""
    md = parser(path)
    lines = text.split("\n")
    origin: list[int | None] = list(range(len(lines)))  # current line index -> original index
    repairs: list[Repair] = []
    tokens = md.parse(text)
    max_repairs = min(MAX_REPAIRS, MAX_REPARSED // max(len(text), 1))
    while len(repairs) < max_repairs:
        found = _first_repair(tokens, lines)
        if found is None:
            break
        opened, before, reported, markup = found  # 0-based indexes in the current text
        repairs.append(Repair(_line(origin, opened), _line(origin, reported)))
        opener = lines[opened]
        indent = opener[: len(opener) - len(opener.lstrip())]
        lines.insert(before, indent + markup)
        origin.insert(before, None)
        tokens = md.parse("\n".join(lines))
    if repairs:
        _remap(tokens, origin)
    _check_nesting(tokens, path)
    return tokens, repairs


def _line(origin: list[int | None], index: int) -> int:
    """1-based original line of the current line ``index`` (an inserted line: the next real one)."""
    for value in origin[index:]:
        if value is not None:
            return value + 1
    return len(origin) + 1


def _first_repair(tokens: list[Token], lines: list[str]) -> tuple[int, int, int, str] | None:
    """(opener, where the closer goes, the line it is reported before, fence) of the first repair."""
    for token in tokens:
        if token.type != "fence" or token.map is None or _is_closed(token, lines):
            continue
        start = token.map[0]
        content = token.content.split("\n")
        for i, line in enumerate(content):
            stripped = line.lstrip()
            if stripped.startswith(token.markup) and stripped[len(token.markup) :].strip():
                return start, start + 1 + i, start + 1 + i, token.markup
        for i, line in enumerate(content):
            hashes = len(line) - len(line.lstrip("#"))
            if 2 <= hashes <= 6 and line[hashes : hashes + 1] == " " and i and not content[i - 1]:
                return start, start + i, start + 1 + i, token.markup  # closed at the blank line
    return None


def _is_closed(token: Token, lines: list[str]) -> bool:
    assert token.map is not None
    start, end = token.map
    if end - 1 <= start or end - 1 >= len(lines):
        return False
    last = lines[end - 1].strip()
    return last.startswith(token.markup) and not last.strip(token.markup[0])


def _remap(tokens: list[Token], origin: list[int | None]) -> None:
    for token in tokens:
        if token.map is not None:
            start, end = token.map
            token.map = [_line(origin, start) - 1, _line(origin, max(start, end - 1))]


def _check_nesting(tokens: list[Token], path: str) -> None:
    for token in tokens:
        if token.level >= MAX_LEVEL:
            line = token.map[0] + 1 if token.map else 1
            message = "lists or quotes nested too deep (more than 16 levels)"
            raise RunbookError([Problem(path, line, "", message)])
