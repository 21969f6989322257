"""The incident every case starts from, and what a case is made of."""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.http.response import HttpResponseBase

from common.models import ApiToken
from incidents import access
from incidents.models import (
    Criterion,
    Incident,
    RoleAssignment,
    Step,
    StepRun,
)
from runbooks.models import RunbookVersion
from tests.factories import SMALL_RUNBOOK
from tests.permissions_matrix.rows import Actor, Outcome

# --- the incident every case starts from ---------------------------------------

LOG_LINE = "restored 4096 rows from todo.dump"  # a line only people who may see logs see
SECRET_SOURCE = "TODO_PG_PASSWORD"  # where the staging password comes from

# SMALL_RUNBOOK plus a secret and two scripted steps of the backend engineer, one of
# them gated by the backend engineer's own role (so "per gate" differs from "IC").
PERMS_RUNBOOK: dict[str, Any] = copy.deepcopy(SMALL_RUNBOOK)
PERMS_RUNBOOK["id"] = "perms"
PERMS_RUNBOOK["environments"][0]["secrets"] = {"PGPASSWORD": {"env": SECRET_SOURCE}}
PERMS_RUNBOOK["success_criteria"] = [
    {
        "id": "api-healthy",
        "title": "The API answers again",
        "signoff": "backend_engineer",
        # criteria9: a metric check, so "Measure now" has a criterion to measure.
        "metrics": [{"id": "errors", "query": "up", "threshold": 1}],
    }
]
PERMS_RUNBOOK["phases"][1]["steps"] += [
    {
        "id": "smoke-script",
        "title": "Run the smoke script",
        "owner": "backend_engineer",
        "kind": "shell",
        "command": {"argv": ["./smoke.sh", "--quick"]},
    },
    {
        "id": "flip-flags",
        "title": "Switch the v2 flags off",
        "owner": "backend_engineer",
        "kind": "shell",
        "command": {"argv": ["flags", "off", "v2"]},
        "approval": "backend_engineer",
    },
]

# Communications (comms): an item the backend engineer owns, so "owner" is the backend.
PERMS_RUNBOOK["communications"] = [
    {
        "id": "api-update",
        "audience": "internal",
        "channel": "chat",
        "owner": "backend_engineer",
        "description": "API status for the team",
        "template": "{status}",
    }
]
PERMS_RUNBOOK["talking_points"] = "What users may notice: {user_impact}"
# drills11: a manual safeguard of the backend engineer, and a scripted step that waits for it.
PERMS_RUNBOOK["safeguards"] = [
    {
        "id": "offsite-copy",
        "category": "backups",
        "title": "Backup copied off-site",
        "owner": "backend_engineer",
    }
]
PERMS_RUNBOOK["phases"][1]["steps"].append(
    {
        "id": "gated-script",
        "title": "Run the gated script",
        "owner": "backend_engineer",
        "kind": "shell",
        "command": {"argv": ["./gated.sh"]},
        "safeguards": ["offsite-copy"],
    }
)


@dataclass
class World:
    """The fixtures' incident and its cast (backend holds backend_engineer, sysadmin system_administrator)."""

    incident: Incident
    version: RunbookVersion
    ic: User
    backend: User
    sysadmin: User
    other_responder: User
    viewer: User
    outsider: User
    dispatched: list[int]  # run ids handed to Celery
    preflights: list[int]  # incident ids whose pre-flight checks were queued

    def step(self, key: str) -> Step:
        return self.incident.steps.get(key=key)

    def holder(self, role_key: str) -> User:
        return RoleAssignment.objects.get(incident=self.incident, role__key=role_key).user

    def user_for(self, actor: Actor, endpoint: Endpoint) -> User | None:
        if actor == "anonymous":
            return None
        if actor == "owner":
            return (
                self.holder(self.step(endpoint.step).owner_role) if endpoint.step else self.backend
            )
        if actor == "other_role":
            # Backend and sysadmin each hold one role: whichever is not the owner holds
            # another role than the one the action belongs to.
            owner = self.user_for("owner", endpoint)
            return self.sysadmin if owner == self.backend else self.backend
        user: User = getattr(self, actor)
        return user


@dataclass
class Prepared:
    """What one request needs: URL kwargs, a body, and what the precondition made."""

    kwargs: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    run: StepRun | None = None
    token: ApiToken | None = None
    other_token: ApiToken | None = None


@dataclass
class Case:
    world: World
    endpoint: Endpoint
    actor: Actor
    user: User | None
    prepared: Prepared

    @property
    def person(self) -> User | AnonymousUser:
        return self.user if self.user is not None else AnonymousUser()

    @cached_property
    def access(self) -> access.IncidentAccess:
        return access.access_for(self.person, self.world.incident)

    @property
    def step(self) -> Step:
        assert self.endpoint.step is not None
        return self.world.step(self.endpoint.step)

    @property
    def run(self) -> StepRun:
        assert self.prepared.run is not None
        return StepRun.objects.get(pk=self.prepared.run.pk)


Prepare = Callable[[World, User | None], Prepared]
Check = Callable[[Case], bool]
Shows = Callable[[Case, HttpResponseBase], bool]


def nothing(world: World, user: User | None) -> Prepared:
    return Prepared()


def incident_kwargs(world: World, user: User | None) -> Prepared:
    return Prepared(kwargs={"incident_id": world.incident.pk})


@dataclass(frozen=True)
class Endpoint:
    id: str  # test id
    url_name: str
    method: str
    expect: Mapping[Actor, Outcome]
    rule: Check  # what incidents.access (or common.capabilities) says: may this actor do it?
    api: bool = False
    ok_status: int = 200
    step: str | None = None  # the step acted on; its owner role says who "owner" is
    prepare: Prepare = incident_kwargs
    done: Check | None = None  # writes: did the change happen?
    shows: Shows | None = None  # does the response show what HIDDEN leaves out?
    shows_rule: Check | None = None  # the rule saying who sees it


def criterion_of(world: World) -> Criterion:
    """The criterion the matrix signs off: the backend engineer's (the owner holds that role)."""
    return Criterion.objects.get(incident=world.incident, key="api-healthy")
