"""``manage.py load_runbooks [PATH...]``: load runbook files as new versions where changed.

Without paths, loads every runbook below ``settings.RIPCORD_RUNBOOK_DIRS``. All
files are checked first; on any problem they are printed (``path:line: field:
message``), nothing is saved and the exit status is 1.
"""

from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from runbooks.importers.problems import RunbookError
from runbooks.services import expand_runbook_paths, load_runbook_files


class Command(BaseCommand):
    help = "Load runbook files (or folders of them); a changed file becomes a new version."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "paths", nargs="*", type=Path, help="files or folders (default: RIPCORD_RUNBOOK_DIRS)"
        )

    def handle(self, *args: Any, paths: list[Path], **options: Any) -> None:
        paths = paths or [Path(folder) for folder in settings.RIPCORD_RUNBOOK_DIRS]
        try:
            files = expand_runbook_paths(paths)
            results = load_runbook_files(files)
        except RunbookError as exc:
            for problem in exc.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{len(exc.problems)} problem(s); no runbook was loaded", returncode=1
            ) from None
        if not results:
            self.stderr.write(f"No runbook files found in {', '.join(map(str, paths))}")
        for result in results:
            self.stdout.write(str(result))
