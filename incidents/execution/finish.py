"""Recording a run's start and end on the incident (timeline, step state, push).

Everything a run produces besides its log (the summary, the evidence, error
texts, the timeline text built from them) passes the run's redactor here, in the
one place that stores it, before it is stored or pushed: an HTTP response or a
SELECT can echo a secret just as a script's output can.
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from incidents.broadcast import publish
from incidents.checks.services import record_results
from incidents.events import Change
from incidents.models import Step, StepRun, TimelineEntry
from incidents.redaction import Redactor
from incidents.services.locking import lock_incident
from incidents.services.phases import advance_automatically
from incidents.services.timeline import record
from runbooks.executors.base import Outcome

SUMMARY_MAX = 500
NO_SECRETS = Redactor({})  # before the run's secrets are read, none can have leaked


def mark_started(run: StepRun) -> None:
    with transaction.atomic():
        incident = lock_incident(run.incident_id, require_active=False)
        change = Change(incident.pk, steps={run.step_id})
        record(
            incident,
            TimelineEntry.Kind.RUN_STARTED,
            f"Running: {run.step.title} on {run.worker}",
            actor=None,
            change=change,
            step=run.step,
            data={"run": run.pk},
        )
        publish(change)


def finish_run(
    run_id: int, status: StepRun.Status, outcome: Outcome, *, redact: Redactor = NO_SECRETS
) -> None:
    """Store the outcome, redacted, unless the run stopped being ours (the sweeper interrupted it)."""
    # Redacted before the cut: a cut first could leave part of a secret no redactor matches.
    outcome = redact.outcome(outcome)
    with transaction.atomic():
        run = StepRun.objects.select_related("step").get(pk=run_id)
        incident = lock_incident(run.incident_id, require_active=False)
        if status == StepRun.Status.CANCELLED:
            current = StepRun.objects.get(pk=run_id)
            if current.status == StepRun.Status.INTERRUPTED:
                return  # the sweeper's word stands; it already told the incident
        updated = StepRun.objects.filter(pk=run_id, status=StepRun.Status.RUNNING).update(
            status=status,
            finished_at=timezone.now(),
            exit_code=outcome.exit_code,
            summary=outcome.summary[:SUMMARY_MAX],
            evidence=dict(outcome.evidence),
        )
        if updated != 1:
            return
        # Validation hook: a validation run's CheckResult rows, in this same transaction;
        # they feed the success criteria and the phase's exit rule.
        record_results(run.pk, outcome)
        change = Change(incident.pk, steps={run.step_id}, criteria=run.step.kind == "validation")
        if status == StepRun.Status.SUCCEEDED:
            Step.objects.filter(pk=run.step_id, state=Step.State.PENDING).update(
                state=Step.State.DONE,
                state_changed_by=run.requested_by_id,
                state_changed_at=timezone.now(),
            )
        label = StepRun.Status(status).label.lower()
        record(
            incident,
            TimelineEntry.Kind.RUN_FINISHED,
            f"Run {label}: {run.step.title} ({outcome.summary or 'no summary'})",
            actor=None,
            change=change,
            step=run.step,
            data={"run": run.pk, "status": status, "exit_code": outcome.exit_code},
        )
        if status == StepRun.Status.SUCCEEDED:
            advance_automatically(incident, change)
        publish(change)
