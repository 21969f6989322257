"""An incident of a chosen size, as the page-size test and bench/page_size.py build it.

``phases`` phases of ``steps_per_phase`` steps (every other step a shell step with a
finished, failed run and a log tail; some requiring the step before), the first
``ended`` phases finished with their steps done, the next one running with half of
its steps done, and ``entries`` timeline entries from three people. Built with bulk
writes where the services would take minutes (10,000 notes), through the services
otherwise.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from incidents import services
from incidents.models import Incident, Phase, Step, StepRun, TimelineEntry
from tests.factories import SMALL_RUNBOOK, make_version

ROLES = ("backend_engineer", "system_administrator")


def sized_spec(phases: int, steps_per_phase: int, name: str) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(json.dumps(SMALL_RUNBOOK))
    spec["id"] = name
    spec["phases"] = [
        {
            "id": f"p{p}",
            "title": f"Phase {p}",
            "starts_at_minutes": p * 30,
            "ends_at_minutes": (p + 1) * 30,
            "steps": [
                {
                    "id": f"p{p}s{i}",
                    "title": f"Step {p}.{i}",
                    "description": "Check the replica lag before going on.",
                    "owner": ROLES[i % 2],
                    **({"requires": [f"p{p}s{i - 1}"]} if i % 3 == 2 else {}),
                    **({"kind": "shell", "command": {"argv": ["true"]}} if i % 2 else {}),
                }
                for i in range(steps_per_phase)
            ],
        }
        for p in range(phases)
    ]
    return spec


def build_incident(
    *,
    phases: int,
    steps_per_phase: int,
    ended: int,
    entries: int,
    people: tuple[User, User, User],
) -> Incident:
    """``people`` is (commander, backend engineer, system administrator)."""
    ic, backend, sysadmin = people
    incident = services.open_incident(
        version=make_version(
            sized_spec(phases, steps_per_phase, f"page-{phases}x{steps_per_phase}-at-{ended}")
        ),
        environment="staging",
        title=f"{phases * steps_per_phase} steps, {entries} entries",
        severity="sev2",
        is_drill=False,
        opened_by=ic,
    )
    for role, person in zip(ROLES, (backend, sysadmin), strict=True):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=person.pk, by=ic)
    now = timezone.now()
    start = now - timedelta(minutes=30 * (ended + 1))
    for phase in Phase.objects.filter(incident=incident):
        if phase.position < ended:
            phase.started_at = start + timedelta(minutes=30 * phase.position)
            phase.ended_at = phase.started_at + timedelta(minutes=30)
        elif phase.position == ended:
            phase.started_at = start + timedelta(minutes=30 * phase.position)
        else:
            phase.started_at = None
        phase.save(update_fields=["started_at", "ended_at"])
    steps = list(incident.steps.select_related("phase").order_by("phase__position", "position"))
    runs = []
    for step in steps:
        if step.phase.position < ended or (step.phase.position == ended and step.position % 2):
            step.state = Step.State.DONE
            step.state_changed_by = ic
            step.state_changed_at = now
        if not step.is_manual:
            runs.append(failed_attempt(step, by=sysadmin, at=now))
    Step.objects.bulk_update(steps, ["state", "state_changed_by", "state_changed_at"])
    StepRun.objects.bulk_create(runs)
    authors = (ic, backend, sysadmin)
    TimelineEntry.objects.bulk_create(
        TimelineEntry(
            incident=incident,
            at=start + timedelta(seconds=i),
            actor=authors[i % 3],
            kind=TimelineEntry.Kind.NOTE,
            text=f"note {i}: replica lag is back under a second",
        )
        for i in range(max(0, entries - incident.timeline.count()))
    )
    return incident


def failed_attempt(step: Step, *, by: Any, at: Any) -> StepRun:
    """A finished, failed first attempt with three lines of output, as a worker leaves it (unsaved)."""
    return StepRun(
        step=step,
        incident_id=step.incident_id,
        attempt=1,
        status=StepRun.Status.FAILED,
        requested_by=by,
        requested_at=at,
        started_at=at,
        finished_at=at,
        exit_code=1,
        summary="exit 1",
        log_lines=3,
        log_tail="one\ntwo\nthree",
    )
