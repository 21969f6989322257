"""Ticking, skipping and reopening steps.

Under the incident lock the step is read again, so of two people ticking the
same step one wins and the other gets a conflict naming who was first: nothing
is lost or recorded twice.
"""

from __future__ import annotations

import json

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from common.compiled import Compiled
from incidents.access import access_for
from incidents.broadcast import publish
from incidents.checks.selectors import failed_checks_of
from incidents.events import Change
from incidents.models import Step, StepRun, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident_of_step
from incidents.services.phases import advance_automatically
from incidents.services.timeline import record

SKIP_REASON_MAX_LENGTH = 2000


_STEP = Compiled[Step](
    lambda step_id: Step.objects.select_related("state_changed_by").filter(pk=step_id)
)


def locked_step(step_id: int) -> Step:
    """The step, read again under its incident's lock (services that change a step)."""
    incident = lock_incident_of_step(step_id)
    locked = _STEP(step_id)[0]
    locked.incident = incident  # the locked row, as just read
    return locked


def _settled_elsewhere(step: Step) -> ServiceError:
    who = step.state_changed_by.get_username() if step.state_changed_by else "someone"
    return ServiceError(f"Already {step.get_state_display().lower()} by {who}.", conflict=True)


def unmet_requirements(step: Step) -> list[Step]:
    """Required steps that are neither done nor skipped."""
    if not step.requires:
        return []
    return list(
        Step.objects.filter(
            incident_id=step.incident_id, key__in=step.requires, state=Step.State.PENDING
        )
    )


def _settle(step: Step, state: Step.State, by: User, reason: str = "") -> None:
    step.state = state
    step.state_changed_by = by
    step.state_changed_at = timezone.now()
    step.skip_reason = reason
    step.save(update_fields=["state", "state_changed_by", "state_changed_at", "skip_reason"])


def complete_step(*, step_id: int, by: User) -> Step:
    """Tick a manual step done; its required steps must be settled first."""
    with transaction.atomic():
        step = locked_step(step_id)
        if not step.is_manual:
            raise ServiceError("A scripted step completes by running it, not by ticking it.")
        if step.state != Step.State.PENDING:
            raise _settled_elsewhere(step)
        if missing := unmet_requirements(step):
            titles = "; ".join(s.title for s in missing)
            raise ServiceError(f"First finish or skip: {titles}.")
        _settle(step, Step.State.DONE, by)
        change = Change(step.incident_id, steps={step.pk})
        record(
            step.incident,
            TimelineEntry.Kind.STEP_DONE,
            f"Done: {step.title}",
            actor=by,
            change=change,
            step=step,
        )
        advance_automatically(step.incident, change, by_id=by.pk)
        publish(change)
    return step


def _failed_checks(step: Step) -> list[str]:
    return [str(check) for check in failed_checks_of(step)]


def skip_step(*, step_id: int, by: User, reason: str) -> Step:
    """Skip a step; the reason is mandatory and goes on the record.

    A validation step whose checks failed (or errored) is skipped only by the
    IC, and that skip is an override of those checks: the phase's exit rule
    stops counting them. Anyone else would launder the failure into a
    "settled" step, and the phase would end by itself.
    """
    reason = reason.strip()
    if not reason:
        raise ServiceError("Say why the step is skipped.")
    if len(reason) > SKIP_REASON_MAX_LENGTH:
        raise ServiceError(f"A reason is at most {SKIP_REASON_MAX_LENGTH} characters.")
    with transaction.atomic():
        step = locked_step(step_id)
        if step.state != Step.State.PENDING:
            raise _settled_elsewhere(step)
        if active := StepRun.objects.filter(step=step, status__in=StepRun.ACTIVE).first():
            # The run would go on (and finish) on a step the record calls skipped.
            raise ServiceError(
                f"This step has a run under way ({active.get_status_display().lower()}); "
                "cancel the run first.",
                conflict=True,
            )
        failed = _failed_checks(step)
        if failed and not access_for(by, step.incident).can_override_checks:
            raise ServiceError(
                f"Its checks did not pass ({'; '.join(failed)}). Run it again once fixed; "
                "only the incident commander may skip it, overriding them."
            )
        _settle(step, Step.State.SKIPPED, by, reason)
        change = Change(step.incident_id, steps={step.pk})
        text = f"Skipped: {step.title} — {reason}"
        if failed:
            text = (
                f"Skipped by the IC, overriding failed checks ({'; '.join(failed)}): "
                f"{step.title}. Reason: {reason}"
            )
        record(
            step.incident,
            TimelineEntry.Kind.STEP_SKIPPED,
            text,
            actor=by,
            change=change,
            step=step,
            data={"reason": reason} | ({"overridden_checks": failed} if failed else {}),
        )
        advance_automatically(step.incident, change, by_id=by.pk)
        publish(change)
    return step


def _dependents_in_the_way(step: Step) -> str:
    """Why reopening ``step`` is refused ("" when nothing requires it any more).

    A step requiring it that is settled, or that has a run awaiting approval,
    queued or running, stood on it: undoing it would leave that step done, or
    its run going, without its prerequisite.
    """
    # Only the steps whose ``requires`` text names it (decoded to be sure), not every
    # settled step of the incident. As text, not jsonb's @>: SQLite has no such lookup.
    named = (
        Step.objects.filter(incident_id=step.incident_id)
        .annotate(requires_text=Cast("requires", TextField()))
        .filter(requires_text__contains=json.dumps(step.key))
        .values_list("pk", "title", "state", "requires_text")
    )
    requiring = [
        (pk, title, state) for pk, title, state, needs in named if step.key in json.loads(needs)
    ]
    settled = [title for _, title, state in requiring if state != Step.State.PENDING]
    if settled:
        return f"Reopen the steps that depend on it first: {'; '.join(settled)}."
    if not requiring:
        return ""
    titles = {pk: title for pk, title, _ in requiring}
    active = StepRun.objects.filter(step_id__in=titles, status__in=StepRun.ACTIVE).order_by("pk")
    running = [f"{titles[run.step_id]} ({run.get_status_display().lower()})" for run in active]
    if running:
        return (
            f"A step that depends on it has a run under way: {'; '.join(running)}. "
            "Cancel that run or let it finish first."
        )
    return ""


def reopen_step(*, step_id: int, by: User) -> Step:
    """Undo a tick or a skip, unless a step depending on it is settled or has a run under way."""
    with transaction.atomic():
        step = locked_step(step_id)
        if step.state == Step.State.PENDING:
            raise ServiceError("This step is already open.", conflict=True)
        if why := _dependents_in_the_way(step):
            raise ServiceError(why)
        previous = step.get_state_display().lower()
        _settle(step, Step.State.PENDING, by)
        change = Change(step.incident_id, steps={step.pk})
        record(
            step.incident,
            TimelineEntry.Kind.STEP_REOPENED,
            f"Reopened (was {previous}): {step.title}",
            actor=by,
            change=change,
            step=step,
        )
        publish(change)
    return step
