"""Runbook writes: load runbook files into immutable versions.

Files are parsed and checked first, all of them, without the database (see
``runbooks.importers.files``); only when every file is sound are they saved, in
one transaction. A broken file therefore never leaves a half-loaded library.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import Max

from runbooks.importers.files import RunbookFile, read_runbook_files
from runbooks.importers.problems import Problem, RunbookError
from runbooks.models import Runbook, RunbookVersion

RUNBOOK_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class LoadResult:
    path: Path
    runbook_id: str
    version: int
    status: str  # "created", "unchanged", or "reinstated" (a file reverted to earlier content)

    def __str__(self) -> str:
        return f"{self.status} {self.runbook_id} v{self.version} ({self.path})"


def discover_runbook_files(directory: Path) -> list[Path]:
    """Every ``*.yaml``/``*.yml`` file below ``directory``, in a stable (sorted) order."""
    return sorted(
        path for path in directory.rglob("*") if path.suffix in RUNBOOK_SUFFIXES and path.is_file()
    )


def find_runbook_paths(paths: Iterable[Path]) -> tuple[list[Path], list[Problem]]:
    """Files as given, folders expanded, and a problem for each path that does not exist."""
    files: list[Path] = []
    missing: list[Problem] = []
    for path in paths:
        if path.is_dir():
            files += discover_runbook_files(path)
        elif path.exists():
            files.append(path)
        else:
            missing.append(Problem(str(path), 0, "", "no such file or directory"))
    return files, missing


def expand_runbook_paths(paths: Iterable[Path]) -> list[Path]:
    """Files as given, folders expanded; raise ``RunbookError`` naming paths that do not exist."""
    files, missing = find_runbook_paths(paths)
    if missing:
        raise RunbookError(missing)
    return files


def load_runbook_files(paths: Iterable[Path]) -> list[LoadResult]:
    """Load runbook files as new versions where their content changed.

    Every file is parsed and checked before anything is written; if any has a
    problem (including two files with the same runbook id), ``RunbookError``
    lists them all and nothing is saved. Existing versions are never modified:
    an incident keeps executing exactly the version it opened with.
    """
    files, problems = read_runbook_files(paths)
    if problems:
        raise RunbookError(problems)
    with transaction.atomic():
        return [_save_version(runbook_file) for runbook_file in files]


def _save_version(runbook_file: RunbookFile) -> LoadResult:
    spec = runbook_file.spec
    Runbook.objects.get_or_create(slug=spec.id, defaults={"title": spec.title})
    # Lock the runbook row: a concurrent load of the same runbook waits here and
    # then finds this version, instead of failing on the unique version number.
    runbook = Runbook.objects.select_for_update().get(slug=spec.id)

    version = runbook.versions.filter(content_sha256=runbook_file.content_sha256).first()
    if version is not None:
        status = "unchanged" if version.pk == runbook.current_version_id else "reinstated"
    else:
        status = "created"
        latest = runbook.versions.aggregate(latest=Max("number"))["latest"] or 0
        version = RunbookVersion.objects.create(
            runbook=runbook,
            number=latest + 1,
            content_sha256=runbook_file.content_sha256,
            source_path=str(runbook_file.path),
            source=runbook_file.source,
            spec=spec.model_dump(mode="json"),
            files=runbook_file.files,
        )
    if status != "unchanged":
        # The runbook row is a pointer and a display cache; only versions are immutable.
        runbook.current_version = version
        runbook.title = spec.title
        runbook.save(update_fields=["current_version", "title"])
    return LoadResult(runbook_file.path, spec.id, version.number, status)
