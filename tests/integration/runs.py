"""Scripted runs through the real API, for integration tests: one-step runbooks, incidents, waits.

``api`` is a callable giving an ``ApiClient`` for a person of the cast by name (the
``api`` fixtures of the test modules); the database is the test process's own.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import yaml
from django.core.management import call_command

from incidents.models import StepRun, StepRunLogChunk
from tests.integration.processes import wait_for


def wait_run(run_id: int, *statuses: str, timeout: float = 30) -> StepRun:
    wait_for(
        lambda: StepRun.objects.filter(pk=run_id, status__in=statuses).exists(),
        timeout=timeout,
        what=f"run {run_id} to become {'/'.join(statuses)}",
    )
    return StepRun.objects.get(pk=run_id)


def stored_log(run_id: int) -> bytes:
    """The run's stored output, its chunks joined in order: the log, byte for byte."""
    chunks = StepRunLogChunk.objects.filter(run_id=run_id).order_by("seq")
    return b"".join(bytes(d) for d in chunks.values_list("data", flat=True))


def log_of(run_id: int) -> str:
    """The run's stored output, with its summary in front (for assertion messages)."""
    summary = StepRun.objects.get(pk=run_id).summary
    return f"[{summary}]\n" + stored_log(run_id).decode("utf-8", errors="replace")


def open_incident(api, runbook: str, environment: str) -> dict[str, Any]:
    created = api("ic").post(
        "/incidents",
        {
            "runbook": runbook,
            "environment": environment,
            "title": f"{runbook} test",
            "severity": "sev1",
            "is_drill": True,
        },
    )
    assert created.status_code == 201, created.body
    return created.json()


def step_id(incident: dict[str, Any], key: str) -> int:
    return next(s["id"] for p in incident["phases"] for s in p["steps"] if s["key"] == key)


def assign(api, incident: dict[str, Any], role: str, username: str) -> None:
    response = api("ic").post(
        f"/incidents/{incident['id']}/roles", {"role": role, "username": username}
    )
    assert response.status_code in (200, 201), response.body


def write_runbook(
    folder: Path,
    *,
    queue: str,
    script: str,
    variables: dict[str, str],
    secrets: dict[str, dict[str, str]] | None = None,
    idempotent: bool = False,
    kind_and_command: dict[str, Any] | None = None,
) -> Path:
    """A one-step runbook around ``script``, written beside its script like a real one.

    ``kind_and_command`` makes the step another kind (``{"kind": "http", "command": ...}``).
    """
    (folder / "scripts").mkdir(parents=True, exist_ok=True)
    (folder / "scripts" / "step.sh").write_text(textwrap.dedent(script))
    spec = {
        "id": f"it-{folder.name}",
        "title": f"Integration {folder.name}",
        "roles": [{"id": "system_administrator", "title": "System administrator"}],
        "environments": [
            {"id": "lab", "title": "Lab", "variables": variables, "secrets": secrets or {}}
        ],
        "phases": [
            {
                "id": "only",
                "title": "Only",
                "starts_at_minutes": 0,
                "ends_at_minutes": 30,
                "steps": [
                    {
                        "id": "act",
                        "title": "Do the thing once",
                        "owner": "system_administrator",
                        "kind": "shell",
                        "command": {"script": "scripts/step.sh"},
                        **(kind_and_command or {}),
                        "idempotent": idempotent,
                        "queue": queue,
                        "timeout_seconds": 120,
                    }
                ],
            }
        ],
    }
    path = folder / "runbook.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def open_lab_incident(api, folder: Path) -> tuple[dict[str, Any], int]:
    call_command("load_runbooks", str(folder), verbosity=0)
    incident = open_incident(api, f"it-{folder.name}", "lab")
    assign(api, incident, "system_administrator", "sysadmin")
    return incident, step_id(incident, "act")
