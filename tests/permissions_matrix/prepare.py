"""Preconditions of the cases, made through the services as people would."""

from __future__ import annotations

from typing import Any, Literal

from django.contrib.auth.models import User

from common.tokens import create_token
from incidents import services
from incidents.models import (
    RoleAssignment,
    Step,
    StepRun,
    StepRunLogChunk,
)
from incidents.services import runs
from tests.permissions_matrix.world import LOG_LINE, Prepare, Prepared, World, criterion_of

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


def self_approval(world: World, user: User | None) -> Prepared:
    """The IC's own request to run the restore (gated on the IC), and a reason."""
    prepared = requested_run("restore", "ic")(world, user)
    return Prepared(kwargs=prepared.kwargs, run=prepared.run, data={"reason": "no one else"})


def run_with_log(world: World, user: User | None) -> Prepared:
    """A queued run of smoke-script with output stored as the worker's log sink stores it.

    The sink writes from its own thread, whose connection cannot see this test's
    uncommitted incident; these rows are what it would write (one chunk, and the
    tail on the run). The websocket test drives the real sink.
    """
    prepared = requested_run("smoke-script", "owner")(world, user)
    assert prepared.run is not None
    StepRunLogChunk.objects.create(
        run=prepared.run, seq=0, first_line=0, data=f"starting\n{LOG_LINE}\n".encode()
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


def phase_kwargs(world: World, user: User | None) -> Prepared:
    """The incident's first phase (what a compact phase fetches when expanded)."""
    phase = world.incident.phases.order_by("position").first()
    assert phase is not None
    return Prepared(kwargs={"incident_id": world.incident.pk, "phase_id": phase.pk})


def criterion_kwargs(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk, "criterion_id": criterion_of(world).pk}
    )


def with_reason(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk}, data={"reason": "the matrix says so"}
    )


IMPORTED_ID = "imported-by-matrix"
IMPORT_MARKDOWN = """# Imported by the matrix

## Steps for Backend Engineer

1. Disable the v2 endpoints
2. Restart the API

```bash
systemctl restart api
```
"""


def import_text(world: World, user: User | None) -> Prepared:
    """The import page's form, with pasted Markdown."""
    return Prepared(data={"text": IMPORT_MARKDOWN, "runbook_id": IMPORTED_ID})


def imported_source(world: World, user: User | None) -> Prepared:
    """What the preview posts back to download or save."""
    return Prepared(
        data={"source": IMPORT_MARKDOWN, "name": "matrix.md", "runbook_id": IMPORTED_ID}
    )
