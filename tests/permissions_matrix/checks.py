"""What each case verifies.

What "it happened" means for each write, what HIDDEN leaves out, and the rules
(``incidents.access``, ``common.capabilities``) the matrix must agree with.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from common import capabilities
from common.models import ApiToken
from incidents import access
from incidents.models import (
    Incident,
    RoleAssignment,
    Step,
    StepRun,
    TimelineEntry,
)
from incidents.selectors import other_commanders
from runbooks.models import RunbookVersion
from tests.permissions_matrix.prepare import IMPORTED_ID
from tests.permissions_matrix.world import LOG_LINE, SECRET_SOURCE, Case, Check, criterion_of

# --- what "it happened" means for each write ------------------------------------


def step_is(state: Step.State) -> Check:
    return lambda case: case.step.state == state


def run_is(status: StepRun.Status, *, dispatched: bool = False) -> Check:
    def check(case: Case) -> bool:
        run = case.run
        return run.status == status and (not dispatched or case.world.dispatched == [run.pk])

    return check


def run_requested(case: Case) -> bool:
    run = StepRun.objects.filter(step=case.step, status=StepRun.Status.QUEUED).first()
    return run is not None and run.requested_by == case.user and case.world.dispatched == [run.pk]


def approved(case: Case) -> bool:
    run = case.run
    return (
        run.status == StepRun.Status.QUEUED
        and run.approved_by == case.user
        and case.world.dispatched == [run.pk]
    )


def note_written(text: str) -> Check:
    return lambda case: TimelineEntry.objects.filter(
        incident=case.world.incident, actor=case.user, text=text
    ).exists()


def other_responder_assigned(case: Case) -> bool:
    return RoleAssignment.objects.filter(
        incident=case.world.incident, role__key="backend_engineer", user=case.world.other_responder
    ).exists()


def sysadmin_unassigned(case: Case) -> bool:
    return not RoleAssignment.objects.filter(
        incident=case.world.incident, user=case.world.sysadmin
    ).exists()


def incident_opened(case: Case) -> bool:
    return Incident.objects.filter(title="Opened by the matrix", opened_by=case.user).exists()


def runbook_imported(case: Case) -> bool:
    """The save made the runbook; its folder (under VAR_DIR/imported) is removed again."""
    version = RunbookVersion.objects.filter(runbook__slug=IMPORTED_ID).first()
    if version is None:
        return False
    folder = Path(version.source_path).parent
    shutil.rmtree(folder, ignore_errors=True)
    if folder.parent.is_dir() and not any(folder.parent.iterdir()):
        folder.parent.rmdir()
    return True


def token_created(case: Case) -> bool:
    return ApiToken.objects.filter(user=case.user, name="made by the matrix").exists()


def token_revoked(case: Case) -> bool:
    assert case.prepared.token is not None
    return not ApiToken.objects.filter(pk=case.prepared.token.pk).exists()


# --- what HIDDEN leaves out -----------------------------------------------------


def body(response: HttpResponseBase) -> str:
    assert isinstance(response, HttpResponse | StreamingHttpResponse), response
    return response.getvalue().decode()


def page_shows_details(case: Case, response: HttpResponseBase) -> bool:
    """Step commands or the log tail of the incident page."""
    html = body(response)
    return 'class="step-command"' in html or LOG_LINE in html


def api_shows_commands(case: Case, response: HttpResponseBase) -> bool:
    data = json.loads(body(response))
    return any(step["command"] for phase in data["phases"] for step in phase["steps"])


def log_shown(case: Case, response: HttpResponseBase) -> bool:
    return LOG_LINE in body(response)


def runbook_page_shows_details(case: Case, response: HttpResponseBase) -> bool:
    html = body(response)
    return "PGDATABASE" in html or SECRET_SOURCE in html


def runbook_api_shows_details(case: Case, response: HttpResponseBase) -> bool:
    spec = json.loads(body(response))["spec"]
    return any(env["variables"] or env["secrets"] for env in spec["environments"]) or any(
        step["command"] for phase in spec["phases"] for step in phase["steps"]
    )


def incident_listed(case: Case, response: HttpResponseBase) -> bool:
    return case.world.incident.pk in [item["id"] for item in json.loads(body(response))]


def own_tokens_only(case: Case, response: HttpResponseBase) -> bool:
    html = body(response)
    return "my own token" in html and "someone else&#x27;s token" not in html


# --- the rules the matrix must agree with ----------------------------------------


def can_view(case: Case) -> bool:
    return case.access.can_view


def can_see_logs(case: Case) -> bool:
    return case.access.can_view and case.access.can_see_logs


def can_act_on_step(case: Case) -> bool:
    return case.access.can_view and case.access.can_act_on(case.step)


def can_act_on_run(case: Case) -> bool:
    return case.access.can_view and case.access.can_act_on(case.run.step)


def can_approve(case: Case) -> bool:
    run = case.run
    return case.access.can_view and case.access.can_approve(
        run.step, requested_by_id=run.requested_by_id
    )


def can_self_approve(case: Case) -> bool:
    run = case.run
    others = other_commanders(case.user.pk if case.user else None)
    return case.access.can_view and case.access.can_self_approve(
        run.step, requested_by_id=run.requested_by_id, other_commanders=len(others)
    )


def self_approved(case: Case) -> bool:
    return (
        approved(case)
        and TimelineEntry.objects.filter(
            incident=case.world.incident, data__override="self_approval"
        ).exists()
    )


def can_manage(case: Case) -> bool:
    return case.access.can_view and case.access.can_manage


def can_add_note(case: Case) -> bool:
    return case.access.can_view and case.access.can_add_note


def can_open(case: Case) -> bool:
    return access.can_open_incident(case.person)


def can_use_ripcord(case: Case) -> bool:
    return access.can_use_ripcord(case.person)


def can_see_runbook_details(case: Case) -> bool:
    return capabilities.can_see_runbook_details(case.person)


def signed_in(case: Case) -> bool:
    return case.person.is_authenticated


def owns_token(case: Case) -> bool:
    token = ApiToken.objects.get(pk=case.prepared.kwargs["token_id"])
    return case.user is not None and token.user_id == case.user.pk


def nobody(case: Case) -> bool:
    return False


def everyone(case: Case) -> bool:
    return True


def can_sign_off(case: Case) -> bool:
    return case.access.can_view and case.access.can_sign_off(criterion_of(case.world))


def can_measure(case: Case) -> bool:
    return case.access.can_view and case.access.can_measure(criterion_of(case.world))


def signed_off(case: Case) -> bool:
    return criterion_of(case.world).signed_off_by == case.user


def resolved(case: Case) -> bool:
    return Incident.objects.get(pk=case.world.incident.pk).status == Incident.Status.RESOLVED


def preflight_queued(case: Case) -> bool:
    return case.world.preflights == [case.world.incident.pk]


def first_phase_ended(case: Case) -> bool:
    return case.world.incident.phases.get(position=0).ended_at is not None


def api_run_shows_log(case: Case, response: HttpResponseBase) -> bool:
    return LOG_LINE in body(response)


SMOKE_COMMAND = "./smoke.sh --quick"  # the smoke-script step's command, as the postmortem shows it


def postmortem_shows_commands(case: Case, response: HttpResponseBase) -> bool:
    return SMOKE_COMMAND in body(response)


def api_postmortem_shows_commands(case: Case, response: HttpResponseBase) -> bool:
    return SMOKE_COMMAND in json.loads(body(response))["markdown"]
