"""Running the runbook's safeguard checks for an incident and recording what they found.

The checks themselves are check families (``validation.checks.safeguards``), run
through the one check protocol (``runbooks.checks``).
"""

from __future__ import annotations

import os

from django.db import transaction
from django.utils import timezone

from incidents.broadcast import publish
from incidents.environment import resolve_for_incident
from incidents.events import Change
from incidents.models import Incident, SafeguardCheck, TimelineEntry
from incidents.redaction import Redactor
from incidents.services.locking import lock_incident
from incidents.services.timeline import record
from runbooks.checks import FAMILIES, CheckContext, CheckOutcome, run_check
from runbooks.executors.base import ExecutorError


def run_preflight(incident_id: int) -> list[SafeguardCheck]:
    """Check every safeguard that declares a check; the rest stay for people to confirm.

    Runs on a worker (where the backup and variables are); results are kept, newest
    first, and summarised on the timeline.
    """
    incident = Incident.objects.select_related("runbook_version").get(pk=incident_id)
    spec = incident.runbook_version.parsed()
    try:
        resolved = resolve_for_incident(incident, dict(os.environ))
        env, redact, problem = resolved.env, resolved.redact, ""
    except ExecutorError as exc:
        env, redact, problem = {}, Redactor({}), str(exc)  # no secrets read, none to leak
    now = timezone.now()
    rows = []
    for safeguard in spec.safeguards:
        if safeguard.check is None or safeguard.check.kind not in FAMILIES:
            continue
        if problem:
            outcome = CheckOutcome("error", problem)
        else:
            # run_check never raises: a broken check is an error result, never a crash.
            outcome = run_check(safeguard.check.kind, safeguard.check.params, env, CheckContext())
        rows.append(
            SafeguardCheck(
                incident=incident,
                safeguard_id=safeguard.id,
                title=safeguard.title,
                result=outcome.result,
                # A check's answer may echo a secret its URL was filled with (the flags
                # endpoint's body, a flag's value): redacted before the cut, as runs are.
                summary=redact.summary(outcome.summary)[:500],
                evidence=redact.evidence(outcome.evidence),
                checked_at=now,
            )
        )
    with transaction.atomic():
        lock_incident(incident.pk, require_active=False)
        SafeguardCheck.objects.bulk_create(rows)
        counts = {r: sum(1 for row in rows if row.result == r) for r in ("pass", "fail", "error")}
        change = Change(incident.pk, safeguards=True)
        record(
            incident,
            TimelineEntry.Kind.PREFLIGHT,
            f"Pre-flight checks: {counts['pass']} passed, {counts['fail']} failed, "
            f"{counts['error']} could not run.",
            actor=None,
            change=change,
            data=counts,
        )
        publish(change)
    return rows
