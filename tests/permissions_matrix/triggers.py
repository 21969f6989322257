"""The matrix for alert receivers and proposed rollbacks (triggers): commanders only."""

from __future__ import annotations

from django.contrib.auth.models import User

from tests.permissions_matrix.checks import can_open, can_use_ripcord
from tests.permissions_matrix.prepare import runbook_kwargs
from tests.permissions_matrix.rows import OPEN_INCIDENT, RUNBOOKS
from tests.permissions_matrix.world import Case, Endpoint, Prepared, World, nothing
from triggers import payloads, services
from triggers.models import Proposal, Receiver

ALERT = (
    b'{"version": "4", "status": "firing", "alerts": [{"labels": {"alertname": "MatrixAlert"},'
    b' "startsAt": "2026-12-03T07:00:00Z"}]}'
)


def proposal_kwargs(world: World, user: User | None) -> Prepared:
    """An open proposal of the matrix's runbook in production (no incident runs there)."""
    receiver, _ = services.create_receiver(
        kind="alertmanager",
        runbook=world.version.runbook,
        environment="production",
        created_by=world.ic,
    )
    services.accept(receiver, payloads.parse_alertmanager(ALERT))
    proposal = Proposal.objects.get(status=Proposal.Status.OPEN)
    return Prepared(kwargs={"proposal_id": proposal.pk})


def with_decline_reason(world: World, user: User | None) -> Prepared:
    prepared = proposal_kwargs(world, user)
    prepared.data = {"reason": "the matrix says no"}
    return prepared


def receiver_form(world: World, user: User | None) -> Prepared:
    return Prepared(
        data={
            "kind": "alertmanager",
            "runbook": world.version.runbook.slug,
            "environment": "staging",
        }
    )


def receiver_created(case: Case) -> bool:
    return Receiver.objects.filter(created_by=case.user, environment="staging").exists()


def proposal_is(status: Proposal.Status):
    def check(case: Case) -> bool:
        pk = case.prepared.kwargs["proposal_id"]
        return Proposal.objects.filter(pk=pk, status=status, decided_by=case.user).exists()

    return check


HTML: list[Endpoint] = [
    Endpoint("receivers", "triggers:receivers", "GET", OPEN_INCIDENT, can_open, prepare=nothing),
    Endpoint(
        "receiver-create",
        "triggers:receivers",
        "POST",
        OPEN_INCIDENT,
        can_open,
        ok_status=201,
        prepare=receiver_form,
        done=receiver_created,
    ),
    Endpoint(
        "proposals-banner", "triggers:banner", "GET", OPEN_INCIDENT, can_open, prepare=nothing
    ),
    Endpoint(
        "proposal-open",
        "triggers:proposal_open",
        "POST",
        OPEN_INCIDENT,
        can_open,
        ok_status=302,
        prepare=proposal_kwargs,
        done=proposal_is(Proposal.Status.ACCEPTED),
    ),
    Endpoint(
        "proposal-decline",
        "triggers:proposal_decline",
        "POST",
        OPEN_INCIDENT,
        can_open,
        ok_status=302,
        prepare=with_decline_reason,
        done=proposal_is(Proposal.Status.DECLINED),
    ),
    # The runbook page's "Last evaluations" fragment: whoever may see the runbook (rules9).
    Endpoint(
        "runbook-evaluations",
        "triggers:evaluations",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        prepare=runbook_kwargs,
    ),
]

API: list[Endpoint] = [
    Endpoint(
        "receivers", "api:list_receivers", "GET", OPEN_INCIDENT, can_open, api=True, prepare=nothing
    ),
    Endpoint(
        "receiver-create",
        "api:create_receiver",
        "POST",
        OPEN_INCIDENT,
        can_open,
        api=True,
        ok_status=201,
        prepare=receiver_form,
        done=receiver_created,
    ),
    Endpoint(
        "proposals", "api:list_proposals", "GET", OPEN_INCIDENT, can_open, api=True, prepare=nothing
    ),
    Endpoint(
        "proposal-open",
        "api:open_proposal",
        "POST",
        OPEN_INCIDENT,
        can_open,
        api=True,
        ok_status=201,
        prepare=proposal_kwargs,
        done=proposal_is(Proposal.Status.ACCEPTED),
    ),
    Endpoint(
        "proposal-decline",
        "api:decline_proposal",
        "POST",
        OPEN_INCIDENT,
        can_open,
        api=True,
        prepare=with_decline_reason,
        done=proposal_is(Proposal.Status.DECLINED),
    ),
    Endpoint(
        "runbook-evaluations",
        "api:list_evaluations",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        api=True,
        prepare=runbook_kwargs,
    ),
]
