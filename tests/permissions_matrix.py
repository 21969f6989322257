"""The permission matrix: every endpoint x every kind of person (DESIGN.md, "Users and permissions").

This module only describes; tests/test_permissions.py makes each request for real,
checks what changed, and checks that ``incidents.access`` gives the same answers.

Reading a row: ``row(anonymous, outsider, viewer, other_responder, owner, ic)``.
"owner" is the responder holding the role that owns the endpoint's step (for
endpoints without a step: a responder holding some role on the incident).
"""

from __future__ import annotations

import copy
import enum
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.urls import URLPattern, URLResolver

from common import capabilities
from common.models import ApiToken
from common.tokens import create_token
from incidents import access, services
from incidents.models import (
    Criterion,
    Incident,
    RoleAssignment,
    Step,
    StepRun,
    StepRunLogChunk,
    TimelineEntry,
)
from incidents.services import runs
from runbooks.models import RunbookVersion
from tests.factories import SMALL_RUNBOOK

Actor = Literal["anonymous", "outsider", "viewer", "other_responder", "owner", "ic"]
ACTORS: tuple[Actor, ...] = ("anonymous", "outsider", "viewer", "other_responder", "owner", "ic")


class Outcome(enum.Enum):
    OK = "allowed"
    HIDDEN = "allowed, with logs/variables/others' data left out"
    DENIED = "refused (403)"
    NOT_FOUND = "not found (404)"
    LOGIN = "sign in first (HTML: 302 to login, API: 401)"

    @property
    def allowed(self) -> bool:
        return self in (Outcome.OK, Outcome.HIDDEN)


L, N, D, OK, H = Outcome.LOGIN, Outcome.NOT_FOUND, Outcome.DENIED, Outcome.OK, Outcome.HIDDEN


def row(
    anonymous: Outcome,
    outsider: Outcome,
    viewer: Outcome,
    other_responder: Outcome,
    owner: Outcome,
    ic: Outcome,
) -> Mapping[Actor, Outcome]:
    return {
        "anonymous": anonymous,
        "outsider": outsider,
        "viewer": viewer,
        "other_responder": other_responder,
        "owner": owner,
        "ic": ic,
    }


# The DESIGN table, one row per kind of action.       anon outs view other owner ic
SEE_INCIDENT = row(L, N, OK, OK, OK, OK)  # incident, progress, timeline
SEE_INCIDENT_DETAILS = row(L, N, H, OK, OK, OK)  # ...whose step commands and log tails viewers miss
SEE_LOGS = row(L, N, D, OK, OK, OK)  # a run's full log
ACT_ON_STEP = row(L, N, D, D, OK, OK)  # tick / skip / reopen / run / cancel
MANAGE = row(L, N, D, D, D, OK)  # assign and unassign roles
NOTES = row(L, N, D, OK, OK, OK)  # write on the timeline
OPEN_INCIDENT = row(L, D, D, D, D, OK)  # commanders only (the IC is one)
LIST_INCIDENTS_PAGE = row(L, D, OK, OK, OK, OK)  # a capability group is needed
LIST_INCIDENTS_API = row(L, H, OK, OK, OK, OK)  # outsiders get a list without this incident
RUNBOOKS = row(L, D, OK, OK, OK, OK)  # any capability group
RUNBOOK_DETAILS = row(L, D, H, OK, OK, OK)  # viewers miss variables, secrets, commands
OWN_TOKENS = row(L, OK, OK, OK, OK, OK)  # any signed-in user, their own tokens only
OTHERS_TOKEN = row(L, N, N, N, N, N)  # nobody revokes someone else's token
NOBODY = row(N, N, N, N, N, N)  # the API root answers nothing
SIGN_OFF = row(L, N, D, D, OK, D)  # only the criterion's sign-off role (owner holds it here)
# Approving a gated run: the IC unless it is his own request, holders of the gate
# role, never the requester, never viewers.
APPROVE_IC_GATE_OWNER_ASKED = row(L, N, D, D, D, OK)
APPROVE_OWNER_GATE_IC_ASKED = row(L, N, D, D, OK, D)
APPROVE_OWNER_GATE_OWNER_ASKED = row(L, N, D, D, D, OK)  # holding the gate is not enough


# --- the incident every case starts from ---------------------------------------

LOG_LINE = "restored 4096 rows from todo.dump"  # a line only people who may see logs see
SECRET_SOURCE = "TODO_PG_PASSWORD"  # where the staging password comes from

# SMALL_RUNBOOK plus a secret and two scripted steps of the backend engineer, one of
# them gated by the backend engineer's own role (so "per gate" differs from "IC").
PERMS_RUNBOOK: dict[str, Any] = copy.deepcopy(SMALL_RUNBOOK)
PERMS_RUNBOOK["id"] = "perms"
PERMS_RUNBOOK["environments"][0]["secrets"] = {"PGPASSWORD": {"env": SECRET_SOURCE}}
PERMS_RUNBOOK["success_criteria"] = [
    {"id": "api-healthy", "title": "The API answers again", "signoff": "backend_engineer"}
]
PERMS_RUNBOOK["phases"][1]["steps"] += [
    {
        "id": "smoke-script",
        "title": "Run the smoke script",
        "owner": "backend_engineer",
        "kind": "shell",
        "command": {"argv": ["./smoke.sh", "--quick"]},
    },
    {
        "id": "flip-flags",
        "title": "Switch the v2 flags off",
        "owner": "backend_engineer",
        "kind": "shell",
        "command": {"argv": ["flags", "off", "v2"]},
        "approval": "backend_engineer",
    },
]


@dataclass
class World:
    """The fixtures' incident and its cast (backend holds backend_engineer, sysadmin system_administrator)."""

    incident: Incident
    version: RunbookVersion
    ic: User
    backend: User
    sysadmin: User
    other_responder: User
    viewer: User
    outsider: User
    dispatched: list[int]  # run ids handed to Celery
    preflights: list[int]  # incident ids whose pre-flight checks were queued

    def step(self, key: str) -> Step:
        return self.incident.steps.get(key=key)

    def holder(self, role_key: str) -> User:
        return RoleAssignment.objects.get(incident=self.incident, role__key=role_key).user

    def user_for(self, actor: Actor, endpoint: Endpoint) -> User | None:
        if actor == "anonymous":
            return None
        if actor == "owner":
            return (
                self.holder(self.step(endpoint.step).owner_role) if endpoint.step else self.backend
            )
        user: User = getattr(self, actor)
        return user


@dataclass
class Prepared:
    """What one request needs: URL kwargs, a body, and what the precondition made."""

    kwargs: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] | None = None
    query: dict[str, Any] | None = None
    run: StepRun | None = None
    token: ApiToken | None = None
    other_token: ApiToken | None = None


@dataclass
class Case:
    world: World
    endpoint: Endpoint
    actor: Actor
    user: User | None
    prepared: Prepared

    @property
    def person(self) -> User | AnonymousUser:
        return self.user if self.user is not None else AnonymousUser()

    @cached_property
    def access(self) -> access.IncidentAccess:
        return access.access_for(self.person, self.world.incident)

    @property
    def step(self) -> Step:
        assert self.endpoint.step is not None
        return self.world.step(self.endpoint.step)

    @property
    def run(self) -> StepRun:
        assert self.prepared.run is not None
        return StepRun.objects.get(pk=self.prepared.run.pk)


Prepare = Callable[[World, User | None], Prepared]
Check = Callable[[Case], bool]
Shows = Callable[[Case, HttpResponseBase], bool]


def nothing(world: World, user: User | None) -> Prepared:
    return Prepared()


def incident_kwargs(world: World, user: User | None) -> Prepared:
    return Prepared(kwargs={"incident_id": world.incident.pk})


@dataclass(frozen=True)
class Endpoint:
    id: str  # test id
    url_name: str
    method: str
    expect: Mapping[Actor, Outcome]
    rule: Check  # what incidents.access (or common.capabilities) says: may this actor do it?
    api: bool = False
    ok_status: int = 200
    step: str | None = None  # the step acted on; its owner role says who "owner" is
    prepare: Prepare = incident_kwargs
    done: Check | None = None  # writes: did the change happen?
    shows: Shows | None = None  # does the response show what HIDDEN leaves out?
    shows_rule: Check | None = None  # the rule saying who sees it


# --- preparations (preconditions go through the services, as people would) ------


def step_kwargs(key: str, **data: Any) -> Prepare:
    def prepare(world: World, user: User | None) -> Prepared:
        step = world.step(key)
        return Prepared(
            kwargs={"incident_id": world.incident.pk, "step_id": step.pk}, data=data or None
        )

    return prepare


def done_step(key: str) -> Prepare:
    """The step ticked by its owner, for reopen."""

    def prepare(world: World, user: User | None) -> Prepared:
        step = world.step(key)
        services.complete_step(step_id=step.pk, by=world.holder(step.owner_role))
        return step_kwargs(key)(world, user)

    return prepare


def settle_requirements(world: World, step: Step) -> None:
    """Tick what ``step`` requires (and what that requires), each by its owner."""
    for key in step.requires:
        required = world.step(key)
        settle_requirements(world, required)
        if required.state == Step.State.PENDING:
            services.complete_step(step_id=required.pk, by=world.holder(required.owner_role))


def requested_run(key: str, asked_by: Literal["owner", "ic"]) -> Prepare:
    """A run of ``key`` requested (awaiting approval if gated, else queued)."""

    def prepare(world: World, user: User | None) -> Prepared:
        step = world.step(key)
        settle_requirements(world, step)
        by = world.ic if asked_by == "ic" else world.holder(step.owner_role)
        run = runs.request_run(step_id=step.pk, by=by)
        return Prepared(kwargs={"incident_id": world.incident.pk, "run_id": run.pk}, run=run)

    return prepare


def run_with_log(world: World, user: User | None) -> Prepared:
    """A queued run of smoke-script with output stored as the worker's log sink stores it.

    The sink writes from its own thread, whose connection cannot see this test's
    uncommitted incident; these rows are what it would write (one chunk, and the
    tail on the run). The websocket test drives the real sink.
    """
    prepared = requested_run("smoke-script", "owner")(world, user)
    assert prepared.run is not None
    StepRunLogChunk.objects.create(
        run=prepared.run, seq=0, first_line=0, text=f"starting\n{LOG_LINE}\n"
    )
    StepRun.objects.filter(pk=prepared.run.pk).update(
        log_lines=2, log_bytes=len(LOG_LINE) + 10, log_tail=f"starting\n{LOG_LINE}"
    )
    return prepared


def on_incident(prepare: Prepare) -> Prepare:
    """The same precondition, for a page addressed by the incident alone."""

    def prepare_page(world: World, user: User | None) -> Prepared:
        prepared = prepare(world, user)
        prepared.kwargs = {"incident_id": world.incident.pk}
        return prepared

    return prepare_page


def unassign_sysadmin(world: World, user: User | None) -> Prepared:
    assignment = RoleAssignment.objects.get(incident=world.incident, user=world.sysadmin)
    return Prepared(kwargs={"incident_id": world.incident.pk, "assignment_id": assignment.pk})


def tokens_of(world: World, user: User | None) -> Prepared:
    """A token of the actor (if signed in) and one of somebody else."""
    someone_else = world.backend if user == world.ic else world.ic
    other, _ = create_token(someone_else, "someone else's token")
    own = create_token(user, "my own token")[0] if user is not None else None
    return Prepared(token=own, other_token=other)


def revoke_own(world: World, user: User | None) -> Prepared:
    prepared = tokens_of(world, user)
    target = prepared.token or prepared.other_token  # anonymous has none: aim at a real one
    assert target is not None
    prepared.kwargs = {"token_id": target.pk}
    return prepared


def revoke_others(world: World, user: User | None) -> Prepared:
    prepared = tokens_of(world, user)
    assert prepared.other_token is not None
    prepared.kwargs = {"token_id": prepared.other_token.pk}
    return prepared


def open_form(world: World, user: User | None) -> Prepared:
    return Prepared(
        data={
            "version": world.version.pk,
            "environment": "staging",
            "title": "Opened by the matrix",
            "severity": "sev2",
        }
    )


def open_payload(world: World, user: User | None) -> Prepared:
    return Prepared(
        data={
            "runbook": world.version.runbook.slug,
            "environment": "staging",
            "title": "Opened by the matrix",
        }
    )


def assign_form(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk},
        data={"role": "backend_engineer", "user": world.other_responder.pk},
    )


def assign_payload(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk},
        data={"role": "backend_engineer", "user_id": world.other_responder.pk},
    )


def environments_query(world: World, user: User | None) -> Prepared:
    return Prepared(query={"version": world.version.pk})


def runbook_kwargs(world: World, user: User | None) -> Prepared:
    return Prepared(kwargs={"slug": world.version.runbook.slug})


def note(text: str) -> Prepare:
    def prepare(world: World, user: User | None) -> Prepared:
        return Prepared(kwargs={"incident_id": world.incident.pk}, data={"text": text})

    return prepare


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


def can_sign_off(case: Case) -> bool:
    return case.access.can_view and case.access.can_sign_off(criterion_of(case.world))


def criterion_of(world: World) -> Criterion:
    return Criterion.objects.get(incident=world.incident, key="api-healthy")


def criterion_kwargs(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk, "criterion_id": criterion_of(world).pk}
    )


def with_reason(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk}, data={"reason": "the matrix says so"}
    )


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


# --- the matrix -----------------------------------------------------------------

APPROVE = "incidents:run_approve"
HTML: list[Endpoint] = [
    Endpoint(
        "list", "incidents:list", "GET", LIST_INCIDENTS_PAGE, can_use_ripcord, prepare=nothing
    ),
    Endpoint("open-form", "incidents:open", "GET", OPEN_INCIDENT, can_open, prepare=open_form),
    Endpoint(
        "open",
        "incidents:open",
        "POST",
        OPEN_INCIDENT,
        can_open,
        ok_status=302,
        prepare=open_form,
        done=incident_opened,
    ),
    Endpoint(
        "environments",
        "incidents:environments",
        "GET",
        OPEN_INCIDENT,
        can_open,
        prepare=environments_query,
    ),
    Endpoint(
        "detail",
        "incidents:detail",
        "GET",
        SEE_INCIDENT_DETAILS,
        can_view,
        prepare=on_incident(run_with_log),
        shows=page_shows_details,
        shows_rule=can_see_logs,
    ),
    Endpoint(
        "live",
        "incidents:live",
        "GET",
        SEE_INCIDENT_DETAILS,
        can_view,
        prepare=on_incident(run_with_log),
        shows=page_shows_details,
        shows_rule=can_see_logs,
    ),
    Endpoint("me", "incidents:me", "GET", SEE_INCIDENT, can_view),
    Endpoint("timeline", "incidents:timeline", "GET", SEE_INCIDENT, can_view),
    Endpoint(
        "note",
        "incidents:note_add",
        "POST",
        NOTES,
        can_add_note,
        prepare=note("HTML note"),
        done=note_written("HTML note"),
    ),
    Endpoint(
        "assign",
        "incidents:role_assign",
        "POST",
        MANAGE,
        can_manage,
        prepare=assign_form,
        done=other_responder_assigned,
    ),
    Endpoint(
        "unassign",
        "incidents:role_unassign",
        "POST",
        MANAGE,
        can_manage,
        prepare=unassign_sysadmin,
        done=sysadmin_unassigned,
    ),
    Endpoint(
        "tick",
        "incidents:step_complete",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        step="disable-v1",
        prepare=step_kwargs("disable-v1"),
        done=step_is(Step.State.DONE),
    ),
    Endpoint(
        "skip",
        "incidents:step_skip",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        step="stop-writes",
        prepare=step_kwargs("stop-writes", reason="writes already stopped by the LB"),
        done=step_is(Step.State.SKIPPED),
    ),
    Endpoint(
        "reopen",
        "incidents:step_reopen",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        step="disable-v1",
        prepare=done_step("disable-v1"),
        done=step_is(Step.State.PENDING),
    ),
    Endpoint(
        "run",
        "incidents:run_request",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        step="smoke-script",
        prepare=step_kwargs("smoke-script"),
        done=run_requested,
    ),
    Endpoint(
        "approve-ic-gate-owner-asked",
        APPROVE,
        "POST",
        APPROVE_IC_GATE_OWNER_ASKED,
        can_approve,
        step="restore",
        prepare=requested_run("restore", "owner"),
        done=approved,
    ),
    Endpoint(
        "approve-owner-gate-ic-asked",
        APPROVE,
        "POST",
        APPROVE_OWNER_GATE_IC_ASKED,
        can_approve,
        step="flip-flags",
        prepare=requested_run("flip-flags", "ic"),
        done=approved,
    ),
    Endpoint(
        "approve-owner-gate-owner-asked",
        APPROVE,
        "POST",
        APPROVE_OWNER_GATE_OWNER_ASKED,
        can_approve,
        step="flip-flags",
        prepare=requested_run("flip-flags", "owner"),
        done=approved,
    ),
    Endpoint(
        "cancel",
        "incidents:run_cancel",
        "POST",
        ACT_ON_STEP,
        can_act_on_run,
        step="smoke-script",
        prepare=requested_run("smoke-script", "owner"),
        done=run_is(StepRun.Status.CANCELLED),
    ),
    Endpoint(
        "run-log",
        "incidents:run_log",
        "GET",
        SEE_LOGS,
        can_see_logs,
        step="smoke-script",
        prepare=run_with_log,
        shows=log_shown,
    ),
    Endpoint(
        "runbooks",
        "runbooks:list",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        prepare=nothing,
    ),
    Endpoint(
        "runbook",
        "runbooks:detail",
        "GET",
        RUNBOOK_DETAILS,
        can_use_ripcord,
        prepare=runbook_kwargs,
        shows=runbook_page_shows_details,
        shows_rule=can_see_runbook_details,
    ),
    Endpoint(
        "tokens",
        "common:tokens",
        "GET",
        OWN_TOKENS,
        signed_in,
        prepare=tokens_of,
        shows=own_tokens_only,
    ),
    Endpoint(
        "token-create",
        "common:tokens",
        "POST",
        OWN_TOKENS,
        signed_in,
        prepare=lambda w, u: Prepared(data={"name": "made by the matrix"}),
        done=token_created,
    ),
    Endpoint(
        "token-revoke",
        "common:token_revoke",
        "POST",
        OWN_TOKENS,
        owns_token,
        ok_status=302,
        prepare=revoke_own,
        done=token_revoked,
    ),
    Endpoint(
        "token-revoke-others",
        "common:token_revoke",
        "POST",
        OTHERS_TOKEN,
        owns_token,
        prepare=revoke_others,
    ),
    Endpoint("signoffs", "incidents:signoffs", "GET", SEE_INCIDENT, can_view),
    # The postmortem: everyone who sees the incident; viewers without step commands.
    Endpoint(
        "postmortem",
        "incidents:postmortem",
        "GET",
        SEE_INCIDENT_DETAILS,
        can_view,
        shows=postmortem_shows_commands,
        shows_rule=can_see_logs,
    ),
    Endpoint(
        "postmortem-md",
        "incidents:postmortem_md",
        "GET",
        SEE_INCIDENT_DETAILS,
        can_view,
        shows=postmortem_shows_commands,
        shows_rule=can_see_logs,
    ),
    Endpoint("postmortem-chart", "incidents:postmortem_chart", "GET", SEE_INCIDENT, can_view),
    Endpoint(
        "sign-off",
        "incidents:sign_off",
        "POST",
        SIGN_OFF,
        can_sign_off,
        prepare=criterion_kwargs,
        done=signed_off,
    ),
    Endpoint(
        "resolve",
        "incidents:resolve",
        "POST",
        MANAGE,
        can_manage,
        prepare=with_reason,
        done=resolved,
    ),
    Endpoint(
        "preflight",
        "incidents:preflight",
        "POST",
        MANAGE,
        can_manage,
        done=preflight_queued,
    ),
    Endpoint(
        "advance",
        "incidents:phase_advance",
        "POST",
        MANAGE,
        can_manage,
        prepare=with_reason,
        done=first_phase_ended,
    ),
]

API: list[Endpoint] = [
    Endpoint("root", "api:api-root", "GET", NOBODY, nobody, api=True, prepare=nothing),
    Endpoint(
        "runbooks",
        "api:list_runbooks",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        api=True,
        prepare=nothing,
    ),
    Endpoint(
        "runbook",
        "api:get_runbook",
        "GET",
        RUNBOOK_DETAILS,
        can_use_ripcord,
        api=True,
        prepare=runbook_kwargs,
        shows=runbook_api_shows_details,
        shows_rule=can_see_runbook_details,
    ),
    Endpoint(
        "open",
        "api:open_incident",
        "POST",
        OPEN_INCIDENT,
        can_open,
        api=True,
        ok_status=201,
        prepare=open_payload,
        done=incident_opened,
    ),
    Endpoint(
        "list",
        "api:list_incidents",
        "GET",
        LIST_INCIDENTS_API,
        signed_in,
        api=True,
        prepare=nothing,
        shows=incident_listed,
        shows_rule=can_view,
    ),
    Endpoint(
        "incident",
        "api:get_incident",
        "GET",
        SEE_INCIDENT_DETAILS,
        can_view,
        api=True,
        shows=api_shows_commands,
        shows_rule=can_see_logs,
    ),
    Endpoint(
        "assign",
        "api:assign_role",
        "POST",
        MANAGE,
        can_manage,
        api=True,
        prepare=assign_payload,
        done=other_responder_assigned,
    ),
    Endpoint(
        "unassign",
        "api:unassign_role",
        "DELETE",
        MANAGE,
        can_manage,
        api=True,
        ok_status=204,
        prepare=unassign_sysadmin,
        done=sysadmin_unassigned,
    ),
    Endpoint(
        "tick",
        "api:complete_step",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        api=True,
        step="disable-v1",
        prepare=step_kwargs("disable-v1"),
        done=step_is(Step.State.DONE),
    ),
    Endpoint(
        "skip",
        "api:skip_step",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        api=True,
        step="stop-writes",
        prepare=step_kwargs("stop-writes", reason="writes already stopped by the LB"),
        done=step_is(Step.State.SKIPPED),
    ),
    Endpoint(
        "reopen",
        "api:reopen_step",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        api=True,
        step="disable-v1",
        prepare=done_step("disable-v1"),
        done=step_is(Step.State.PENDING),
    ),
    Endpoint("timeline", "api:get_timeline", "GET", SEE_INCIDENT, can_view, api=True),
    Endpoint(
        "note",
        "api:add_note",
        "POST",
        NOTES,
        can_add_note,
        api=True,
        ok_status=201,
        prepare=note("API note"),
        done=note_written("API note"),
    ),
    Endpoint(
        "run",
        "api:request_run",
        "POST",
        ACT_ON_STEP,
        can_act_on_step,
        api=True,
        ok_status=201,
        step="smoke-script",
        prepare=step_kwargs("smoke-script"),
        done=run_requested,
    ),
    Endpoint(
        "approve-owner-gate-ic-asked",
        "api:approve_run",
        "POST",
        APPROVE_OWNER_GATE_IC_ASKED,
        can_approve,
        api=True,
        step="flip-flags",
        prepare=requested_run("flip-flags", "ic"),
        done=approved,
    ),
    Endpoint(
        "cancel",
        "api:cancel_run",
        "POST",
        ACT_ON_STEP,
        can_act_on_run,
        api=True,
        step="smoke-script",
        prepare=requested_run("smoke-script", "owner"),
        done=run_is(StepRun.Status.CANCELLED),
    ),
    Endpoint(
        "run-read",
        "api:get_run",
        "GET",
        SEE_INCIDENT_DETAILS,
        can_view,
        api=True,
        step="smoke-script",
        prepare=run_with_log,
        shows=api_run_shows_log,
        shows_rule=can_see_logs,
    ),
    Endpoint(
        "run-log",
        "api:get_run_log",
        "GET",
        SEE_LOGS,
        can_see_logs,
        api=True,
        step="smoke-script",
        prepare=run_with_log,
        shows=log_shown,
    ),
    Endpoint("criteria", "api:get_criteria", "GET", SEE_INCIDENT, can_view, api=True),
    Endpoint(
        "postmortem",
        "api:get_postmortem",
        "GET",
        SEE_INCIDENT_DETAILS,
        can_view,
        api=True,
        shows=api_postmortem_shows_commands,
        shows_rule=can_see_logs,
    ),
    Endpoint(
        "sign-off",
        "api:sign_off",
        "POST",
        SIGN_OFF,
        can_sign_off,
        api=True,
        prepare=criterion_kwargs,
        done=signed_off,
    ),
    Endpoint(
        "resolve",
        "api:resolve",
        "POST",
        MANAGE,
        can_manage,
        api=True,
        prepare=with_reason,
        done=resolved,
    ),
    Endpoint(
        "advance",
        "api:advance",
        "POST",
        MANAGE,
        can_manage,
        api=True,
        prepare=with_reason,
        done=first_phase_ended,
    ),
]

ENDPOINTS: list[Endpoint] = HTML + API

# The websocket, by route: who is refused (4403) and which audience the others join.
WEBSOCKETS: dict[str, Mapping[Actor, Literal["refused", "view", "act"]]] = {
    "ws/incidents/<int:incident_id>/": {
        "anonymous": "refused",
        "outsider": "refused",
        "viewer": "view",
        "other_responder": "act",
        "owner": "act",
        "ic": "act",
    }
}

# URL patterns deliberately outside the matrix, by route (a trailing "/" covers what is under it).
EXEMPT: dict[str, str] = {
    "admin/": "Django admin: staff only, guarded by Django's own admin site",
    "accounts/login/": "signing in is for people who are not signed in yet",
    "accounts/logout/": "signing out needs no permission",
    "healthz": "load balancer probe: no session, answers only ok/not ok",
    "api/v1/openapi.json": "the API's schema: public description, no data",
    "api/v1/docs": "the API's documentation page: public, no data",
    "static/": "static files (served by WhiteNoise, normally outside the URLconf)",
}


def is_exempt(route: str) -> bool:
    return any(route == key or (key.endswith("/") and route.startswith(key)) for key in EXEMPT)


def case_id(endpoint: Endpoint, actor: Actor) -> str:
    return f"{'api' if endpoint.api else 'html'}-{endpoint.id}-{actor}"


def iter_url_patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str | None, URLPattern]]:
    """(route, qualified name, pattern) for every leaf of the URLconf, ninja's included."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from iter_url_patterns(pattern.url_patterns, route, inner)
        else:
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield route, name, pattern


_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def sample_path(route: str) -> str:
    """A concrete path matching ``route`` (which object it names does not matter)."""
    return "/" + _PARAM.sub(lambda m: "x" if m["converter"] == "slug" else "1", route)
