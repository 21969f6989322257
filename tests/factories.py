"""Plain builders for test data (no factory library needed at this size)."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.contrib.auth.models import Group, User

from runbooks.models import Runbook, RunbookVersion
from runbooks.specs import RunbookSpec

SMALL_RUNBOOK: dict[str, Any] = {
    "id": "small",
    "title": "Small rollback",
    "roles": [
        {"id": "backend_engineer", "title": "Backend Engineer"},
        {"id": "system_administrator", "title": "System Administrator"},
    ],
    "environments": [
        {"id": "staging", "title": "Staging", "variables": {"PGDATABASE": "todo"}},
        {"id": "production", "title": "Production", "is_production": True},
    ],
    "phases": [
        {
            "id": "preserve",
            "title": "Service preservation",
            "starts_at_minutes": 0,
            "ends_at_minutes": 15,
            "steps": [
                {"id": "disable-v1", "title": "Disable new endpoints", "owner": "backend_engineer"},
                {
                    "id": "stop-writes",
                    "title": "Stop all write operations",
                    "owner": "system_administrator",
                    "requires": ["disable-v1"],
                },
                {
                    "id": "restore",
                    "title": "Restore from backup",
                    "owner": "system_administrator",
                    "kind": "shell",
                    "command": {"argv": ["pg_restore", "--clean"]},
                    "requires": ["stop-writes"],
                    "approval": "incident_commander",
                },
            ],
        },
        {
            "id": "validate",
            "title": "Validation",
            "starts_at_minutes": 15,
            "ends_at_minutes": 60,
            "steps": [
                {"id": "smoke", "title": "Execute smoke tests", "owner": "backend_engineer"},
            ],
        },
    ],
}


def make_user(username: str, *groups: str, **extra: Any) -> User:
    user = User.objects.create_user(username=username, password="pw-" + username, **extra)
    for name in groups:
        user.groups.add(Group.objects.get_or_create(name=name)[0])  # flushed by transactional tests
    return user


def make_version(spec: dict[str, Any] | None = None, *, number: int = 1) -> RunbookVersion:
    data = RunbookSpec.model_validate(spec or SMALL_RUNBOOK).model_dump(mode="json")
    runbook, _ = Runbook.objects.get_or_create(slug=data["id"], defaults={"title": data["title"]})
    source = json.dumps(data, sort_keys=True)
    version = RunbookVersion.objects.create(
        runbook=runbook,
        number=number,
        content_sha256=hashlib.sha256(source.encode()).hexdigest(),
        source_path=f"{data['id']}.yaml",
        source=source,
        spec=data,
    )
    runbook.current_version = version  # as load_runbooks does for the newest content
    runbook.save(update_fields=["current_version"])
    return version


def spec_with_steps(n_steps: int) -> dict[str, Any]:
    """A runbook with one phase of ``n_steps`` manual steps (for size-independence tests)."""
    spec: dict[str, Any] = json.loads(json.dumps(SMALL_RUNBOOK))
    spec["id"] = f"sized-{n_steps}"
    spec["phases"] = [
        {
            "id": "only",
            "title": "Only phase",
            "starts_at_minutes": 0,
            "ends_at_minutes": 30,
            "steps": [
                {"id": f"s{i}", "title": f"Step {i}", "owner": "backend_engineer"}
                for i in range(n_steps)
            ],
        }
    ]
    return spec
