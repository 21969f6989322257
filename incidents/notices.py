"""Who is told that they are needed, and what (issue 12, item 3), through common.notify.

Services call these inside their transaction; the notices leave on commit. Each goes
to the people it concerns, never to the person whose action caused it:

* ``approval_waits``: a run waits for approval: holders of the gate's role, the IC,
  and, for a gate on the incident commander, every other commander;
* ``steps_unblocked``: a step settled and another step can now start: its owner
  role's holders;
* ``phase_clock``: a phase turned at risk or over budget: the IC and the holders of
  the roles owning its unsettled steps;
* ``resolved``: everyone holding a role on the incident.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from django.db.models import TextField
from django.db.models.functions import Cast
from django.urls import reverse

from common.compiled import Compiled
from common.notify import notify_users
from incidents.models import Incident, Phase, RoleAssignment, Step, StepRun
from incidents.selectors import other_commanders_ids
from runbooks.specs import INCIDENT_COMMANDER


def _url(incident_id: int) -> str:
    return reverse("incidents:detail", args=[incident_id])


def _holders(incident_id: int, roles: Iterable[str]) -> set[int]:
    return set(
        RoleAssignment.objects.filter(incident_id=incident_id, role__key__in=list(roles))
        .values_list("user_id", flat=True)
        .order_by()
    )


def approval_waits(run: StepRun, step: Step) -> None:
    people = _holders(run.incident_id, {step.approval_role, INCIDENT_COMMANDER})
    if step.approval_role == INCIDENT_COMMANDER:
        people |= set(other_commanders_ids(run.requested_by_id))
    people.discard(run.requested_by_id)
    notify_users(
        people,
        "approval",
        {
            "title": "An approval waits for you",
            "body": f"{step.title}: run asked for, waiting for approval.",
            "url": _url(run.incident_id),
            "tag": f"approval-{run.pk}",
            "incident": run.incident_id,
        },
    )


_SETTLED_KEYS = Compiled[str](
    lambda step_ids: (
        Step.objects.filter(pk__in=step_ids)
        .exclude(state=Step.State.PENDING)
        .values_list("key", flat=True)
    )
)
_STEP_ROWS = Compiled[tuple[int, str, str, str | None, str, str]](
    lambda incident_id: Step.objects.filter(incident_id=incident_id).values_list(
        "pk", "key", "state", Cast("requires", TextField()), "title", "owner_role"
    )
)


def steps_unblocked(incident: Incident, settled_step_ids: Iterable[int], by_id: int | None) -> None:
    """After steps settled: pending steps whose requirements now all hold, to their owners.

    Rows as tuples, not models: a tick costs the same in a 3- or 300-step incident's
    push path (tests/incidents/test_events.py).
    """
    settled = set(_SETTLED_KEYS(sorted(settled_step_ids)))
    if not settled:
        return
    # ``requires`` as its JSON text: decoded only where it names a settled step.
    rows = _STEP_ROWS(incident.pk)
    done = {key for _, key, state, *_ in rows if state != Step.State.PENDING}
    quoted = [json.dumps(key) for key in settled]
    for pk, _key, state, requires, title, owner_role in rows:
        if state != Step.State.PENDING or not requires or not any(q in requires for q in quoted):
            continue
        needs = set(json.loads(requires) or [])
        if not settled & needs or not needs <= done:
            continue
        people = _holders(incident.pk, {owner_role})
        people.discard(by_id)
        notify_users(
            people,
            "unblocked",
            {
                "title": "Your step can start",
                "body": f"{title} ({incident.title}): every step it waits for is settled.",
                "url": _url(incident.pk),
                "tag": f"unblocked-{pk}",
                "incident": incident.pk,
            },
        )


def phase_clock(incident: Incident, phase: Phase, what: str) -> None:
    owners = set(
        Step.objects.filter(phase=phase, state=Step.State.PENDING)
        .values_list("owner_role", flat=True)
        .order_by()
    )
    notify_users(
        _holders(incident.pk, owners | {INCIDENT_COMMANDER}),
        "phase_clock",
        {
            "title": f"{phase.title}: {what.split(':')[0]}",
            "body": f"{incident.title}: {phase.title} {what}.",
            "url": _url(incident.pk),
            "tag": f"phase-{phase.pk}-{phase.clock_state}",
            "incident": incident.pk,
        },
    )


def resolved(incident: Incident, by_id: int | None) -> None:
    people = set(
        RoleAssignment.objects.filter(incident=incident)
        .values_list("user_id", flat=True)
        .order_by()
    )
    people.discard(by_id)
    notify_users(
        people,
        "resolved",
        {
            "title": "Incident resolved",
            "body": f"{incident.title} was resolved.",
            "url": _url(incident.pk),
            "tag": f"resolved-{incident.pk}",
            "incident": incident.pk,
        },
    )
