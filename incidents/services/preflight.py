"""Running the runbook's safeguard checks for an incident and recording what they found.

The checks themselves are check families (``validation.checks.safeguards``), run
through the one check protocol (``runbooks.checks``).
"""

from __future__ import annotations

import os

from django.db import transaction
from django.utils import timezone

from incidents import gates
from incidents.broadcast import publish
from incidents.environment import resolve_for_incident
from incidents.events import Change
from incidents.models import Incident, SafeguardCheck, StepRun, TimelineEntry
from incidents.redaction import Redactor
from incidents.services.locking import lock_incident
from incidents.services.timeline import record
from runbooks.checks import FAMILIES, CheckContext, CheckOutcome, run_check
from runbooks.executors.base import ExecutorError
from runbooks.specs import SafeguardSpec


def _check(
    incident: Incident,
    safeguards: list[SafeguardSpec],
    env: dict[str, str],
    redact: Redactor,
    problem: str,
) -> list[SafeguardCheck]:
    """Run the checks of ``safeguards`` (those with a known family) into unsaved rows."""
    now = timezone.now()
    rows = []
    for safeguard in safeguards:
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
    return rows


def _counts(rows: list[SafeguardCheck]) -> dict[str, int]:
    return {r: sum(1 for row in rows if row.result == r) for r in ("pass", "fail", "error")}


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
    rows = _check(incident, list(spec.safeguards), env, redact, problem)
    with transaction.atomic():
        lock_incident(incident.pk, require_active=False)
        SafeguardCheck.objects.bulk_create(rows)
        counts = _counts(rows)
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


def preflight_before_step(run: StepRun, env: dict[str, str], redact: Redactor) -> None:
    """On the worker, right before a step that names safeguards: check them again.

    The checked ones run again here (where the backup is) and are recorded; then the
    gate is read as the web side reads it. Held, and not overridden by the IC: the
    step does not start (``ExecutorError``, so the run fails saying why).
    """
    step = run.step
    if not step.safeguards:
        return
    incident = run.incident
    wanted = [s for s in incident.runbook_version.parsed().safeguards if s.id in step.safeguards]
    rows = _check(incident, wanted, env, redact, "")
    if rows:
        with transaction.atomic():
            lock_incident(incident.pk, require_active=False)
            SafeguardCheck.objects.bulk_create(rows)
            change = Change(incident.pk, safeguards=True, steps={step.pk})
            found = ", ".join(f"{row.safeguard_id} {row.result}" for row in rows)
            record(
                incident,
                TimelineEntry.Kind.PREFLIGHT,
                f"Pre-flight before {step.title}: {found}.",
                actor=None,
                change=change,
                step=step,
                data=_counts(rows) | {"run": run.pk},
            )
            publish(change)
    step.incident = incident
    in_the_way = gates.held(gates.gate_for(step))
    if in_the_way and not run.safeguard_override_reason:
        raise ExecutorError(
            f"held by safeguards (pre-flight right before the step): {gates.describe(in_the_way)}"
        )
