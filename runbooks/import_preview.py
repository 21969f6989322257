"""What the import page shows of one import: the preview, or the problems beside their lines."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from runbooks.importers.markdown import Imported, import_markdown
from runbooks.importers.markdown.writer import runbook_yaml
from runbooks.importers.problems import RunbookError

EXCERPT = 160  # characters of a source line shown beside a TODO or an error


@dataclass(frozen=True, slots=True)
class Located:
    line: int
    source: str  # the document's line, cut to EXCERPT characters ("" when none applies)
    message: str


def _excerpt(lines: list[str], line: int) -> str:
    if not 0 < line <= len(lines):
        return ""
    text = lines[line - 1]
    return text[:EXCERPT] + ("…" if len(text) > EXCERPT else "")


def preview_context(data: bytes, name: str, runbook_id: str | None) -> dict[str, Any]:
    """The template context for one document: ``imported`` and its parts, or ``problems``."""
    lines = (
        data.decode("utf-8", errors="replace").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    )
    try:
        imported = import_markdown(data, path=name, runbook_id=runbook_id)
    except RunbookError as exc:
        return {
            "problems": [Located(p.line, _excerpt(lines, p.line), p.message) for p in exc.problems],
            "name": name,
        }
    return {
        "imported": imported,
        "name": name,
        "source": data.decode("utf-8"),
        "phases": _phases(imported),
        "todos": [Located(t.line, _excerpt(lines, t.line), t.message) for t in imported.todos],
        "readiness": imported.readiness.lines(),
        "scripts": sorted(imported.scripts.items()),
        "yaml": runbook_yaml(imported),
    }


def _phases(imported: Imported) -> list[dict[str, Any]]:
    return [
        {
            "phase": phase,
            "steps": [
                {"step": step, "line": imported.step_lines.get(step.id, 0)} for step in phase.steps
            ],
        }
        for phase in imported.spec.phases
    ]
