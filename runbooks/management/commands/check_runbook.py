"""``manage.py check_runbook FILE...``: validate runbook files, e.g. in a user's own CI.

Needs no database and runs no system checks, so it works wherever the code is
checked out. Good files print ``OK``; every problem goes to stderr as
``path:line: field: message``, and the exit status is 1 if any file failed.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any, NoReturn

from django.core.management.base import BaseCommand, CommandError

from runbooks.importers.files import read_runbook_files
from runbooks.importers.problems import Problem
from runbooks.services import find_runbook_paths


class Command(BaseCommand):
    help = "Check runbook files (YAML, fields, references, scripts) without touching the database."
    requires_system_checks: list[str] = []  # no URLconf, models or database needed

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("paths", nargs="+", type=Path, help="runbook files or folders")

    def handle(self, *args: Any, paths: list[Path], **options: Any) -> None:
        # A missing path is one more failed file: the others are still checked.
        files, missing = find_runbook_paths(paths)
        checked, problems = read_runbook_files(files)
        problems = missing + problems
        failed = {problem.path for problem in problems}
        for runbook in checked:
            if str(runbook.path) not in failed:
                spec = runbook.spec
                self.stdout.write(
                    f"OK {runbook.path} (runbook {spec.id}, {len(spec.phases)} phases, "
                    f"{len(spec.all_steps())} steps)"
                )
        if problems:
            self._fail(problems, len(failed))

    def _fail(self, problems: list[Problem], failed_files: int) -> NoReturn:
        for problem in problems:
            self.stderr.write(str(problem))
        raise CommandError(f"{failed_files} runbook file(s) failed the check", returncode=1)
