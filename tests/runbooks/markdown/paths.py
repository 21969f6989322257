"""Where the shared documents are: ``../shared`` beside the repository (CI has it too)."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings

SHARED = Path(settings.BASE_DIR).parent / "shared"
PLAN = SHARED / "mission" / "rollback-plan-MIG-002.md"
CORPUS = SHARED / "corpus" / "runbooks"
MIG002 = Path(settings.BASE_DIR) / "runbooks" / "library" / "mig-002" / "runbook.yaml"
