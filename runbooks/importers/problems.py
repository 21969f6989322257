"""Located problems in a runbook file, and where in the file a field lives.

Every complaint about a runbook names the file, the line and the field (a
dotted path such as ``phases[1].steps[0].owner``), so whoever edits the file
can go straight to it. A ``Locator`` answers "which line?" for a field path
taken from pydantic's error ``loc`` or built by the cross-reference checks.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

Loc = tuple[str | int, ...]
"""A path into the parsed document: mapping keys and sequence indexes."""


@dataclass(frozen=True, slots=True)
class Problem:
    path: str
    line: int  # 1-based; 0 when no line applies (an unreadable file)
    field: str  # dotted path, "" for the file as a whole
    message: str

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return (
            f"{where}: {self.field}: {self.message}" if self.field else f"{where}: {self.message}"
        )


class RunbookError(Exception):
    """One or more runbook files are refused; ``problems`` says where and why."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(problem) for problem in self.problems)


def format_field(loc: Sequence[str | int]) -> str:
    """``("phases", 1, "steps", 0, "owner")`` → ``phases[1].steps[0].owner``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class Locator:
    """Maps field paths of one file to the line where they are written.

    ``lines`` holds a line for every mapping key and sequence item of the
    document (the key's own line for mapping entries). A path that is not in
    the file (a missing required key, a pydantic model-level error) falls back
    to the nearest enclosing node that is.
    """

    def __init__(self, path: str, lines: dict[Loc, int]) -> None:
        self.path = path
        self._lines = lines

    def line(self, loc: Sequence[str | int]) -> int:
        parts = tuple(loc)
        while parts and parts not in self._lines:
            parts = parts[:-1]
        return self._lines.get(parts, 1)

    def problem(self, loc: Sequence[str | int], message: str) -> Problem:
        return Problem(self.path, self.line(loc), format_field(loc), message)
