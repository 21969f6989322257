"""Drills booked ahead (runbook, environment, time, IC, people by role).

``schedule_drill`` checks what it can when booked (a commander books it, the commander
may open incidents, the environment exists and is not production, the time is ahead).
At its time ``open_due_drills`` (beat, control queue) opens it through ``open_incident_once``
with a key of its own, so a second sweep never opens it twice; assigns its people and
tells them and the IC (``common.notify``). If it cannot open, it is marked failed with why.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from common.notify import notify_users
from incidents.access import can_open_incident
from incidents.models import ScheduledDrill
from incidents.services.errors import ServiceError
from incidents.services.opening import open_incident_once
from incidents.services.roles import assign_role
from runbooks.models import Runbook

logger = logging.getLogger(__name__)


def schedule_drill(
    *,
    runbook: Runbook,
    environment: str,
    starts_at: datetime,
    commander: User,
    by: User,
    title: str = "",
    assignments: Mapping[str, User] | None = None,
) -> ScheduledDrill:
    if not can_open_incident(by):
        raise ServiceError("Only commanders may schedule drills.")
    if not can_open_incident(commander):
        raise ServiceError(f"{commander.get_username()} may not command incidents.")
    version = runbook.current_version
    if version is None:
        raise ServiceError(f"Runbook {runbook.slug} has no version.")
    spec = version.parsed()
    env = next((e for e in spec.environments if e.id == environment), None)
    if env is None:
        raise ServiceError(f"Runbook {spec.id} has no environment {environment!r}.")
    if env.is_production:
        raise ServiceError(f"{env.title} is a production environment: drills are refused there.")
    if starts_at <= timezone.now():
        raise ServiceError("A drill is scheduled for a time ahead.")
    roles = {r.id for r in spec.roles}
    unknown = sorted(set(assignments or {}) - roles)
    if unknown:
        raise ServiceError(f"Runbook {spec.id} has no role {', '.join(unknown)}.")
    title = title.strip() or f"Drill: {spec.title} in {env.title}"
    return ScheduledDrill.objects.create(
        runbook=runbook,
        environment=environment,
        title=title[:200],
        starts_at=starts_at,
        commander=commander,
        assignments={role: user.pk for role, user in (assignments or {}).items()},
        created_by=by,
        created_at=timezone.now(),
    )


def open_due_drills(now: datetime | None = None) -> list[int]:
    """Open every scheduled drill whose time has come; the incidents opened."""
    now = now or timezone.now()
    opened = []
    due = ScheduledDrill.objects.filter(
        status=ScheduledDrill.Status.SCHEDULED, starts_at__lte=now
    ).values_list("pk", flat=True)
    for pk in list(due):
        incident_id = _open_one(pk)
        if incident_id is not None:
            opened.append(incident_id)
    return opened


def _open_one(pk: int) -> int | None:
    with transaction.atomic():
        drill = (
            ScheduledDrill.objects.select_for_update(skip_locked=True, of=("self",))
            .filter(pk=pk, status=ScheduledDrill.Status.SCHEDULED)
            .select_related("runbook__current_version", "commander")
            .first()
        )
        if drill is None:
            return None  # another sweep has it, or it is settled
        try:
            with transaction.atomic():
                version = drill.runbook.current_version
                if version is None:
                    raise ServiceError(f"Runbook {drill.runbook.slug} has no version.")
                incident, _ = open_incident_once(
                    version=version,
                    environment=drill.environment,
                    title=drill.title,
                    severity="sev3",
                    is_drill=True,
                    opened_by=drill.commander,
                    open_key=f"scheduled-drill-{drill.pk}",
                )
                for role, user_id in drill.assignments.items():
                    assign_role(
                        incident_id=incident.pk, role_key=role, user_id=user_id, by=drill.commander
                    )
        except ServiceError as exc:
            drill.status = ScheduledDrill.Status.FAILED
            drill.problem = str(exc)
            drill.save(update_fields=["status", "problem"])
            logger.warning("scheduled drill %s could not open: %s", drill.pk, exc)
            notify_users(
                [drill.commander_id, drill.created_by_id],
                "drill_failed",
                {
                    "title": "A scheduled drill could not open",
                    "body": f"{drill.title}: {exc}",
                    "url": reverse("incidents:scheduled_drills"),
                    "tag": f"scheduled-drill-{drill.pk}",
                },
            )
            return None
        drill.status = ScheduledDrill.Status.OPENED
        drill.incident = incident
        drill.save(update_fields=["status", "incident"])
        notify_users(
            [drill.commander_id, *drill.assignments.values()],
            "drill_opened",
            {
                "title": "Your scheduled drill has started",
                "body": f"{drill.title} is open: you are on it.",
                "url": reverse("incidents:detail", args=[incident.pk]),
                "tag": f"scheduled-drill-{drill.pk}",
                "incident": incident.pk,
            },
        )
        return incident.pk
