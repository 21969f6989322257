"""Runbook writes for the import page: an imported Markdown runbook saved as a runbook version.

The import is written as a runbook folder under ``VAR_DIR/imported/<id>/<stamp>/``
(checked by ``check_runbook``'s code on the way, see ``importers.markdown.writer``)
and then loaded exactly as ``load_runbooks`` loads a file, so a saved runbook is
the same as one loaded from disk: a new runbook, or a new version of the one
with that id when its content differs.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from runbooks.importers.markdown import Imported
from runbooks.importers.markdown.writer import write_folder
from runbooks.services import LoadResult, load_runbook_files


def imported_folder(runbook_id: str) -> Path:
    """A new folder for one save of ``runbook_id`` (each save keeps its own files)."""
    stamp = f"{timezone.now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}"
    return Path(settings.VAR_DIR) / "imported" / runbook_id / stamp


def save_imported(imported: Imported) -> LoadResult:
    folder = imported_folder(imported.spec.id)
    folder.parent.mkdir(parents=True, exist_ok=True)
    written = write_folder(imported, folder, shown=f"{imported.spec.id}/{folder.name}")
    [result] = load_runbook_files([written])
    return result
