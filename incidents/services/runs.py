"""Asking for, approving and cancelling runs of scripted steps (the people's side).

The worker's side (claiming, executing, finishing) is incidents.execution; handing a
queued run to the broker, and again if it was away, is incidents.services.delivery.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.compiled import Compiled
from incidents import notices
from incidents.access import access_for
from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import Step, StepRun, TimelineEntry
from incidents.selectors import other_commanders
from incidents.services.delivery import enqueue
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from incidents.services.safeguards import check_gate, record_override
from incidents.services.steps import locked_step, unmet_requirements
from incidents.services.timeline import record

REASON_MAX_LENGTH = 2000


_ACTIVE_RUN = Compiled[int](
    lambda step_id: (
        StepRun.objects.filter(step_id=step_id, status__in=StepRun.ACTIVE)
        .order_by()
        .values_list("pk", flat=True)[:1]
    )
)
_LAST_ATTEMPT = Compiled[int](
    lambda step_id: (
        StepRun.objects.filter(step_id=step_id)
        .order_by("-attempt")
        .values_list("attempt", flat=True)[:1]
    )
)


def request_run(*, step_id: int, by: User, override_reason: str = "") -> StepRun:
    """A person asks to run a scripted step: a new attempt, gated by approval if the step has one.

    A re-run after a failure or an interruption is the same call: it is always
    a person's decision, never a redelivered task's. A step naming safeguards is
    refused while one is failed or unconfirmed, unless the IC gives ``override_reason``.
    """
    with transaction.atomic():
        step = locked_step(step_id)
        incident = step.incident
        if step.is_manual:
            raise ServiceError("A manual step is ticked, not run.")
        if step.state != Step.State.PENDING:
            raise ServiceError(
                f"This step is already {step.get_state_display().lower()}.", conflict=True
            )
        if _ACTIVE_RUN(step.pk):
            raise ServiceError("This step already has a run under way.", conflict=True)
        if missing := unmet_requirements(step):
            raise ServiceError(f"First finish or skip: {'; '.join(s.title for s in missing)}.")
        overridden = check_gate(step, by=by, override_reason=override_reason)
        attempt = next(iter(_LAST_ATTEMPT(step.pk)), 0) + 1
        gated = bool(step.approval_role)
        try:
            with transaction.atomic():
                run = StepRun.objects.create(
                    step=step,
                    incident=incident,
                    attempt=attempt,
                    status=StepRun.Status.AWAITING_APPROVAL if gated else StepRun.Status.QUEUED,
                    queue=step.queue or "default",
                    requested_by=by,
                    requested_at=timezone.now(),
                )
        except IntegrityError:  # the partial unique index: another run became active first
            raise ServiceError("This step already has a run under way.", conflict=True) from None
        change = Change(incident.pk, steps={step.pk})
        again = " again" if attempt > 1 else ""
        waiting = " — waiting for approval" if gated else ""
        record(
            incident,
            TimelineEntry.Kind.RUN_REQUESTED,
            f"Run{again} requested: {step.title} (attempt {attempt}){waiting}",
            actor=by,
            change=change,
            step=step,
            data={"run": run.pk},
        )
        if overridden:
            record_override(run, overridden, by=by, reason=override_reason, change=change)
        if not gated:
            enqueue(run)
        else:
            notices.approval_waits(run, step)
        publish(change)
    return run


def _locked_run(run_id: int) -> StepRun:
    run = StepRun.objects.filter(pk=run_id).only("incident_id").first()
    if run is None:
        raise ServiceError("No such run.")
    lock_incident(run.incident_id)
    return StepRun.objects.select_related("step", "incident").get(pk=run_id)


def approve_run(*, run_id: int, by: User) -> StepRun:
    """Open the gate of a run awaiting approval; the requester cannot approve their own.

    The step's requirements must still be settled when the gate opens.
    """
    with transaction.atomic():
        run = _locked_run(run_id)
        if run.status != StepRun.Status.AWAITING_APPROVAL:
            raise ServiceError(f"This run is {run.get_status_display().lower()}.", conflict=True)
        if run.requested_by_id == by.pk:
            raise ServiceError("Someone other than the requester must approve.")
        # Checked again: the approval, not the request, is what lets the run start.
        if missing := unmet_requirements(run.step):
            raise ServiceError(f"First finish or skip: {'; '.join(s.title for s in missing)}.")
        if not run.safeguard_override_reason:  # the safeguards may have changed since the request
            run.step.incident = run.incident
            check_gate(run.step, by=by, override_reason="")
        run.status = StepRun.Status.QUEUED
        run.approved_by = by
        run.approved_at = timezone.now()
        run.save(update_fields=["status", "approved_by", "approved_at"])
        change = Change(run.incident_id, steps={run.step_id})
        record(
            run.incident,
            TimelineEntry.Kind.RUN_APPROVED,
            f"Run approved: {run.step.title}",
            actor=by,
            change=change,
            step=run.step,
            data={"run": run.pk},
        )
        enqueue(run)
        publish(change)
    return run


def self_approve_run(*, run_id: int, by: User, reason: str) -> StepRun:
    """The IC opens the gate on their own run, as an override, when nobody else can.

    Only a run gated on the incident commander, asked for by the IC who approves it,
    while no other active commander exists (``IncidentAccess.can_self_approve``), and
    with a reason: the timeline (and so the postmortem) records it as an override.
    """
    reason = reason.strip()
    if not reason:
        raise ServiceError("Say why you approve your own run (it is recorded as an override).")
    if len(reason) > REASON_MAX_LENGTH:
        raise ServiceError(f"A reason is at most {REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        run = _locked_run(run_id)
        if run.status != StepRun.Status.AWAITING_APPROVAL:
            raise ServiceError(f"This run is {run.get_status_display().lower()}.", conflict=True)
        others = other_commanders(by.pk)
        if not access_for(by, run.incident).can_self_approve(
            run.step, requested_by_id=run.requested_by_id, other_commanders=len(others)
        ):
            raise ServiceError(self_approval_refusal(others))
        if missing := unmet_requirements(run.step):
            raise ServiceError(f"First finish or skip: {'; '.join(s.title for s in missing)}.")
        run.status = StepRun.Status.QUEUED
        run.approved_by = by
        run.approved_at = timezone.now()
        run.save(update_fields=["status", "approved_by", "approved_at"])
        change = Change(run.incident_id, steps={run.step_id})
        record(
            run.incident,
            TimelineEntry.Kind.RUN_APPROVED,
            f"Override: the incident commander approved their own run of {run.step.title}, "
            f"no other commander being available. Reason: {reason}",
            actor=by,
            change=change,
            step=run.step,
            data={"run": run.pk, "override": "self_approval", "reason": reason},
        )
        enqueue(run)
        publish(change)
    return run


def self_approval_refusal(others: list[str]) -> str:
    if others:
        return (
            f"Another commander can approve this run ({', '.join(others[:5])}): ask them. "
            "Approving your own run is only for when no other commander can."
        )
    return "Only the incident commander who asked for a run gated on the IC may approve it so."


NOT_STARTED = (StepRun.Status.AWAITING_APPROVAL, StepRun.Status.QUEUED)


def cancel_run(*, run_id: int, by: User) -> StepRun:
    """Stop a run. Not yet started: cancelled at once. Running: the worker stops it (and its children).

    The worker's claim (QUEUED → RUNNING) is a conditional UPDATE that does not take the
    incident lock, so a run read here as queued may be running by the time we write.
    Both writes are compare-and-set: cancelled only if it has still not started, else
    the cancel is asked of the running run, which the worker's lease keeper sees.
    """
    with transaction.atomic():
        run = _locked_run(run_id)
        if not run.is_active:
            raise ServiceError(
                f"This run is already {run.get_status_display().lower()}.", conflict=True
            )
        change = Change(run.incident_id, steps={run.step_id})
        if StepRun.objects.filter(pk=run_id, status__in=NOT_STARTED).update(
            status=StepRun.Status.CANCELLED, finished_at=timezone.now(), cancel_requested_by=by
        ):
            done = "done"
        else:
            # Started, so RUNNING still: only the claim (QUEUED -> RUNNING) moves a run
            # without the incident lock held here; every way out of RUNNING takes it.
            asked = StepRun.objects.filter(pk=run_id, status=StepRun.Status.RUNNING).update(
                cancel_requested_by=by
            )
            assert asked == 1, f"run {run_id} left RUNNING without its incident's lock"
            done = "requested"
        run.refresh_from_db()
        record(
            run.incident,
            TimelineEntry.Kind.RUN_CANCELLED,
            f"Cancel {done}: {run.step.title}",
            actor=by,
            change=change,
            step=run.step,
            data={"run": run.pk},
        )
        publish(change)
    return run
