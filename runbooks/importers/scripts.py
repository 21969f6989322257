"""Script files that shell steps ship beside their runbook.

A shell step may say ``command: {script: scripts/x.sh, ...}``: the path is
relative to the runbook file and must stay inside the runbook's folder, so a
runbook can only ship what is next to it (never ``/etc/...`` or ``../other``).
The scripts' bytes are loaded with the runbook and stored in its version, so
what an incident runs is what was checked and hashed at load time.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath

from runbooks.importers.limits import MAX_SCRIPT_BYTES, MAX_SCRIPTS_BYTES, size_text
from runbooks.importers.problems import Locator, Problem
from runbooks.importers.reading import NotRegularFile, TooLarge, read_regular_file
from runbooks.specs import RunbookSpec, StepKind


def read_scripts(
    spec: RunbookSpec, locator: Locator, folder: Path
) -> tuple[dict[str, bytes], list[Problem]]:
    """The scripts ``spec`` references, keyed by normalised relative path, and any problems."""
    scripts: dict[str, bytes] = {}
    problems: list[Problem] = []
    total = 0
    root = folder.resolve()
    for i, phase in enumerate(spec.phases):
        for j, step in enumerate(phase.steps):
            if step.kind != StepKind.SHELL or "script" not in step.command:
                continue
            loc = ("phases", i, "steps", j, "command", "script")
            relpath, content, message = _read_one(step.command["script"], root)
            if not message and relpath is not None and content is not None:
                if relpath not in scripts:
                    total += len(content)
                    if total > MAX_SCRIPTS_BYTES >= total - len(content):  # this one crosses
                        limit = size_text(MAX_SCRIPTS_BYTES)
                        message = f"this script takes the runbook's scripts past {limit} together"
                scripts[relpath] = content
            if message:
                problems.append(locator.problem(loc, message))
    return scripts, problems


def _read_one(value: object, root: Path) -> tuple[str | None, bytes | None, str]:
    if not isinstance(value, str) or not value.strip():
        return None, None, "a path relative to the runbook file"
    relative = PurePosixPath(value)
    if relative.is_absolute() or ".." in relative.parts or "\\" in value:
        return None, None, f"script path {value!r} must stay inside the runbook's folder"
    target = (root / relative).resolve()
    # Resolved (symlinks followed) and compared again: a link must not lead outside.
    if not target.is_relative_to(root):
        return None, None, f"script path {value!r} leads outside the runbook's folder"
    if not target.is_file():
        return None, None, f"script file {value!r} not found beside the runbook"
    try:
        content = read_regular_file(target, MAX_SCRIPT_BYTES)
        content.decode("utf-8")
    except OSError as exc:
        return None, None, f"cannot read script {value!r}: {exc.strerror}"
    except NotRegularFile:
        return None, None, f"script {value!r} is not a regular file"
    except TooLarge:
        limit = size_text(MAX_SCRIPT_BYTES)
        return None, None, f"script {value!r} is over {limit}, the most a script may be"
    except UnicodeDecodeError:
        return None, None, f"script {value!r} is not UTF-8 text"
    if (nul := content.find(b"\0")) >= 0:
        line = content.count(b"\n", 0, nul) + 1
        return None, None, f"script {value!r} has a NUL byte on its line {line}; a script is text"
    return str(relative), content, ""
