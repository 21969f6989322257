"""A small runbook whose restore step waits for two safeguards: a checked one and a manual one."""

from __future__ import annotations

import copy
from typing import Any

from tests.factories import SMALL_RUNBOOK


def gated_spec(*, approval: bool = False, valid_for_minutes: int = 60) -> dict[str, Any]:
    spec: dict[str, Any] = copy.deepcopy(SMALL_RUNBOOK)
    spec["id"] = "gated"
    spec["environments"][0]["variables"]["MARKER"] = "/nonexistent/marker"
    spec["safeguards"] = [
        {
            "id": "backup_verified",
            "category": "database_backups",
            "title": "Backup verified",
            "check": {"kind": "marker", "params": {"file_variable": "MARKER"}},
        },
        {
            "id": "backup_offsite",
            "category": "database_backups",
            "title": "Backup stored off-site",
            "owner": "system_administrator",
            "valid_for_minutes": valid_for_minutes,
        },
    ]
    restore = spec["phases"][0]["steps"][2]
    restore["safeguards"] = ["backup_verified", "backup_offsite"]
    if not approval:
        restore.pop("approval")
    return spec
