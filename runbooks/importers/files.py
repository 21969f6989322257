"""Runbook files on disk → checked ``RunbookFile`` objects, all problems collected.

This is everything ``check_runbook`` does and the first half of
``load_runbook_files``: no database, so it can run in a user's own CI.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from runbooks.importers.checks import check_references
from runbooks.importers.limits import MAX_FILE_BYTES, check_limits, size_text
from runbooks.importers.problems import Locator, Problem, RunbookError
from runbooks.importers.reading import NotRegularFile, TooLarge, read_regular_file
from runbooks.importers.scripts import read_scripts
from runbooks.importers.yaml import parse_runbook
from runbooks.specs import RunbookSpec


@dataclass(frozen=True, slots=True)
class RunbookFile:
    path: Path
    source: str
    spec: RunbookSpec
    locator: Locator
    scripts: dict[str, bytes]  # relative path → content
    content_sha256: str

    @property
    def files(self) -> dict[str, str]:
        return {relpath: content.decode("utf-8") for relpath, content in self.scripts.items()}


def content_sha256(source: bytes, scripts: dict[str, bytes]) -> str:
    """Hash of the runbook and the scripts it ships: a change to either is a new version.

    Every part is length-prefixed, so no two different sets of files can
    produce the same byte stream.
    """
    digest = hashlib.sha256()
    for part in [source, *(p for path in sorted(scripts) for p in (path.encode(), scripts[path]))]:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def read_runbook_file(path: Path) -> RunbookFile:
    """Parse and check one runbook file and its scripts; raise ``RunbookError`` on any problem."""
    shown = str(path)
    raw = _read_source(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise RunbookError([Problem(shown, line, "", "the file is not UTF-8 text")]) from None
    parsed = parse_runbook(text, path=shown)
    if problems := check_limits(parsed.spec, parsed.locator):
        raise RunbookError(sorted(problems, key=lambda p: p.line))
    problems = check_references(parsed.spec, parsed.locator)
    scripts, script_problems = read_scripts(parsed.spec, parsed.locator, path.parent)
    if problems or script_problems:
        raise RunbookError(sorted([*problems, *script_problems], key=lambda p: p.line))
    return RunbookFile(
        path=path,
        source=text,
        spec=parsed.spec,
        locator=parsed.locator,
        scripts=scripts,
        content_sha256=content_sha256(raw, scripts),
    )


def _read_source(path: Path) -> bytes:
    """The file's bytes, if it is a regular file of at most MAX_FILE_BYTES inside its folder.

    A link is followed only within the folder it sits in: a ``runbook.yaml`` linked to
    a file elsewhere would have that file's lines quoted in the problems printed.
    """

    def refuse(message: str) -> RunbookError:
        return RunbookError([Problem(str(path), 0, "", message)])

    target = path.resolve()
    if not target.is_relative_to(path.parent.resolve()):
        outside = "is a symbolic link to a file outside the runbook's folder"
        raise refuse(f"{outside}; Ripcord reads only files inside it")
    try:
        return read_regular_file(target, MAX_FILE_BYTES)
    except OSError as exc:
        raise refuse(f"cannot read: {exc.strerror}") from None
    except NotRegularFile:
        raise refuse("is not a regular file") from None
    except TooLarge:
        limit = size_text(MAX_FILE_BYTES)
        raise refuse(f"the file is over {limit}, the most a runbook file may be") from None


def read_runbook_files(paths: Iterable[Path]) -> tuple[list[RunbookFile], list[Problem]]:
    """Read every file (a broken one does not stop the others) and check ids across files."""
    files: list[RunbookFile] = []
    problems: list[Problem] = []
    seen: set[Path] = set()
    for path in paths:
        if path.resolve() in seen:  # named twice, e.g. as a file and inside its folder
            continue
        seen.add(path.resolve())
        try:
            files.append(read_runbook_file(path))
        except RunbookError as exc:
            problems += exc.problems
    first: dict[str, RunbookFile] = {}
    for runbook in files:
        other = first.setdefault(runbook.spec.id, runbook)
        if other is not runbook:
            message = f"runbook id {runbook.spec.id!r} is also used by {other.path}"
            problems.append(runbook.locator.problem(("id",), message))
    return files, problems
