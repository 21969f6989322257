"""The incident page costs the same number of queries whatever the incident's size.

Each size is a realistic scene, not an empty one: three phases, manual and
scripted steps, steps done and skipped, finished runs with log tails, a run
waiting for approval, several people on roles and notes from each of them.
Counted for each audience, since the IC, a responder and a viewer get
different controls, logs and panels.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from incidents import services
from incidents.models import Incident, Step, StepRun
from incidents.services import runs
from tests.factories import SMALL_RUNBOOK, make_user, make_version
from tests.page_scene import failed_attempt

pytestmark = pytest.mark.django_db

ROLES = ("backend_engineer", "system_administrator")


def sized_spec(steps_per_phase: int) -> dict[str, Any]:
    spec: dict[str, Any] = json.loads(json.dumps(SMALL_RUNBOOK))
    spec["id"] = f"sized-{steps_per_phase}"
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
                    "owner": ROLES[i % 2],
                    **(
                        {
                            "kind": "shell",
                            "command": {"argv": ["true"]},
                            **({"approval": "incident_commander"} if i % 4 == 1 else {}),
                        }
                        if i % 2
                        else {}
                    ),
                }
                for i in range(steps_per_phase)
            ],
        }
        for p in range(3)
    ]
    return spec


def build_scene(steps_per_phase: int, ic, backend, sysadmin) -> Incident:
    incident = services.open_incident(
        version=make_version(sized_spec(steps_per_phase)),
        environment="staging",
        title=f"size {steps_per_phase}",
        severity="sev2",
        is_drill=False,
        opened_by=ic,
    )
    for role, person in zip(ROLES, (backend, sysadmin), strict=True):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=person.pk, by=ic)
    now = timezone.now()
    for step in incident.steps.order_by("phase__position", "position"):
        index = int(step.key.rsplit("s", 1)[1])
        if step.is_manual and index % 4 == 0:
            services.complete_step(step_id=step.pk, by=ic)
        elif step.is_manual:
            services.skip_step(step_id=step.pk, by=ic, reason="not needed here")
        elif step.approval_role:
            runs.request_run(step_id=step.pk, by=sysadmin)  # waits for the IC's approval
        else:  # a finished attempt with output, as a worker leaves it
            failed_attempt(step, by=sysadmin, at=now).save()
    for i in range(steps_per_phase * 3):
        for author in (ic, backend, sysadmin):
            services.add_note(incident_id=incident.pk, author=author, text=f"note {i}")
    return incident


def page_queries(client, user, incident: Incident) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("incidents:detail", args=[incident.pk]))
    assert response.status_code == 200
    return len(queries)


def test_incident_page_queries_do_not_grow_with_steps_runs_or_timeline(client):
    ic = make_user("ic", COMMANDERS)
    backend = make_user("backend", RESPONDERS)
    sysadmin = make_user("sysadmin", RESPONDERS)
    pm = make_user("pm", VIEWERS)
    small = build_scene(4, ic, backend, sysadmin)
    large = build_scene(24, ic, backend, sysadmin)
    assert large.steps.count() == 72
    assert large.steps.filter(state=Step.State.SKIPPED).exists()
    assert StepRun.objects.filter(incident=large, status=StepRun.Status.AWAITING_APPROVAL).exists()
    assert large.timeline.count() > 200

    counts = {
        user.username: (page_queries(client, user, small), page_queries(client, user, large))
        for user in (ic, backend, pm)
    }

    assert all(a == b for a, b in counts.values()), counts
