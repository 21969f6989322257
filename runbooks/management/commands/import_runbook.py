"""``manage.py import_runbook FILE.md --out DIR [--id ID]``: a Markdown runbook → a Ripcord runbook.

Writes ``DIR/runbook.yaml`` and ``DIR/scripts/...`` (checked with ``check_runbook``'s
code before anything is moved into ``DIR``), prints a readiness summary and the
TODOs with their source lines, and exits 0. A document that cannot be imported
exits 1 with ``file:line: message`` and leaves nothing behind. Nothing in the
document is ever executed. Needs no database.
"""

from __future__ import annotations

import re
from argparse import ArgumentParser
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError

from runbooks.importers.markdown import Imported, import_markdown
from runbooks.importers.markdown.source import MAX_BYTES
from runbooks.importers.markdown.writer import write_folder
from runbooks.importers.problems import Problem, RunbookError
from runbooks.importers.reading import NotRegularFile, TooLarge, read_regular_file

KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")  # runbooks.specs.Key


class Command(BaseCommand):
    help = "Import a Markdown runbook into a Ripcord runbook folder (runbook.yaml and scripts/)."
    requires_system_checks: list[str] = []  # no URLconf, models or database needed

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("file", type=Path, help="the Markdown document")
        parser.add_argument("--out", type=Path, required=True, help="a new or empty folder")
        parser.add_argument(
            "--id", dest="runbook_id", help="the runbook's id (default: from its title)"
        )

    def handle(
        self, *args: Any, file: Path, out: Path, runbook_id: str | None, **options: Any
    ) -> None:
        file, out = Path(file), Path(out)  # call_command passes strings as given
        if runbook_id is not None and not KEY.match(runbook_id):
            self._fail(
                [Problem("--id", 0, "", f"{runbook_id!r} is not a runbook id (a-z, 0-9, _ and -)")]
            )
        try:
            data = read_regular_file(file.resolve(), MAX_BYTES)
        except OSError as exc:
            self._fail([Problem(str(file), 0, "", f"cannot read: {exc.strerror}")])
        except NotRegularFile:
            self._fail([Problem(str(file), 0, "", "is not a regular file")])
        except TooLarge:
            self._fail(
                [Problem(str(file), 0, "", f"is larger than {MAX_BYTES // (1024 * 1024)} MB")]
            )
        try:
            imported = import_markdown(data, path=str(file), runbook_id=runbook_id)
            written = write_folder(imported, out)
        except RunbookError as exc:
            self._fail(exc.problems)
        self._report(imported, written)

    def _report(self, imported: Imported, written: Path) -> None:
        spec = imported.spec
        self.stdout.write(
            f"Imported {imported.source_path} -> {written} (runbook {spec.id}: {spec.title})"
        )
        for line in imported.readiness.lines():
            self.stdout.write(f"  {line}")
        gated = imported.readiness.gated_steps
        self.stdout.write(
            f"  Imported code is untrusted until reviewed: {gated} scripted step(s) require the"
            " incident commander's approval to run."
        )
        self.stdout.write(f"TODO ({len(imported.todos)}):")
        for todo in imported.todos:
            where = f"{imported.source_path}:{todo.line}" if todo.line else imported.source_path
            self.stdout.write(f"  {where}: {todo.message}")

    def _fail(self, problems: list[Problem]) -> NoReturn:
        for problem in problems:
            self.stderr.write(str(problem))
        raise CommandError("the document was not imported", returncode=1)
