"""An imported runbook as files: ``runbook.yaml`` and ``scripts/NAME.sh``, on disk or zipped.

Writing goes to a hidden folder inside the target, is checked there with
``check_runbook``'s own code, and only then moved into place; any failure
removes everything written (and the target itself, if this call created it).
Script names are made by ``ids.script_name`` (one path component, no dots in
front), and every target is checked to lie inside the folder before it is
opened, so no document can make the import write outside ``--out``.
"""

from __future__ import annotations

import io
import os
import shutil
import tempfile
import zipfile
from pathlib import Path

import yaml

from runbooks.importers.files import read_runbook_files
from runbooks.importers.markdown.builder import Imported
from runbooks.importers.problems import Problem, RunbookError

RUNBOOK_FILE = "runbook.yaml"


def _comment(text: str) -> str:
    """One line of YAML comment: control characters (line breaks included) become spaces."""
    return "".join(ch if ch.isprintable() else " " for ch in text)


def runbook_yaml(imported: Imported) -> str:
    data = imported.spec.model_dump(mode="json", exclude_defaults=True)
    header = [
        f"# Imported from {imported.source_path} by Ripcord's Markdown importer.",
        "# Imported code is untrusted until reviewed: every scripted step waits for the",
        "# incident commander's approval to run.",
    ]
    if imported.todos:
        header.append(f"# TODO ({len(imported.todos)}), by line of {imported.source_path}:")
        header += [f"#   {todo}" for todo in imported.todos]
    body = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    return "\n".join(_comment(line) for line in header) + "\n" + body


def runbook_files(imported: Imported) -> dict[str, bytes]:
    """Relative path → bytes of every file of the runbook's folder."""
    files = {RUNBOOK_FILE: runbook_yaml(imported).encode()}
    files |= {relpath: content.encode() for relpath, content in imported.scripts.items()}
    return files


def zip_folder(imported: Imported) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for relpath, content in sorted(runbook_files(imported).items()):
            archive.writestr(f"{imported.spec.id}/{relpath}", content)
    return buffer.getvalue()


def write_folder(imported: Imported, out: Path, *, shown: str | None = None) -> Path:
    """Write the runbook into ``out`` (new, or an empty folder), checked; its ``runbook.yaml``.

    Problems name the folder as ``shown`` (default: ``out``): the import page passes a name
    of its own, so that a message never shows the server's paths.
    """
    shown = str(out) if shown is None else shown
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise RunbookError([Problem(shown, 0, "", "exists and is not an empty folder")])
    if not out.parent.is_dir():
        raise RunbookError([Problem(shown, 0, "", "its parent folder does not exist")])
    created = not out.exists()
    out.mkdir(exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".import-", dir=out))
    try:
        for relpath, content in runbook_files(imported).items():
            _write_inside(staging, relpath, content)
        _, problems = read_runbook_files([staging / RUNBOOK_FILE])
        if problems:  # e.g. a title past its column's length: say so and keep nothing
            raise RunbookError(
                [
                    Problem(
                        shown,
                        0,
                        "",
                        f"the written runbook failed its check: {_inside(problems[0])}",
                    )
                ]
            )
        for entry in sorted(os.listdir(staging)):
            os.replace(staging / entry, out / entry)
        staging.rmdir()
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    return out / RUNBOOK_FILE


def _write_inside(root: Path, relpath: str, content: bytes) -> None:
    target = (root / relpath).resolve()
    if not target.is_relative_to(root.resolve()) or target == root.resolve():
        raise RunbookError(
            [Problem(relpath, 0, "", "would be written outside the runbook's folder")]
        )
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o644), "wb") as handle:
        handle.write(content)


def _inside(problem: Problem) -> str:
    """The problem as it stands in the written folder: line, field, message, no server path."""
    where = f"{RUNBOOK_FILE}:{problem.line}" if problem.line else RUNBOOK_FILE
    return (
        f"{where}: {problem.field}: {problem.message}"
        if problem.field
        else f"{where}: {problem.message}"
    )
