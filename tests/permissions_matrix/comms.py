"""The matrix for communications (comms): the send action, talking points, and the API."""

from __future__ import annotations

from django.contrib.auth.models import User

from comms.models import Send
from incidents.models import RoleAssignment
from tests.permissions_matrix.checks import can_view
from tests.permissions_matrix.rows import OK, SEE_INCIDENT, row
from tests.permissions_matrix.rows import D as DENIED
from tests.permissions_matrix.rows import L as LOGIN
from tests.permissions_matrix.rows import N as NOT_FOUND
from tests.permissions_matrix.world import Case, Endpoint, Prepared, World

# Only the holder of the item's owner role sends it (the IC only for unheld roles or
# the IC's own items; here the backend engineer holds the owner role).
SEND = row(LOGIN, NOT_FOUND, DENIED, DENIED, DENIED, OK, DENIED)
BODY = "Matrix says hello"


def can_send(case: Case) -> bool:
    held = RoleAssignment.objects.filter(
        incident=case.world.incident, role__key="backend_engineer"
    ).exists()
    return case.access.can_view and case.access.can_send_communication(
        "backend_engineer", role_is_held=held
    )


def sent(case: Case) -> bool:
    return Send.objects.filter(incident=case.world.incident, sent_by=case.user, body=BODY).exists()


def send_form(world: World, user: User | None) -> Prepared:
    return Prepared(
        kwargs={"incident_id": world.incident.pk}, data={"item": "api-update", "body": BODY}
    )


COMMS: list[Endpoint] = [
    Endpoint("comms-send", "comms:send", "POST", SEND, can_send, prepare=send_form, done=sent),
    Endpoint("talking-points", "comms:talking_points", "GET", SEE_INCIDENT, can_view),
    Endpoint("comms-me", "comms:me", "GET", SEE_INCIDENT, can_view),
    Endpoint("comms-drafts", "api:list_drafts", "GET", SEE_INCIDENT, can_view, api=True),
    Endpoint("comms-sends", "api:list_sends", "GET", SEE_INCIDENT, can_view, api=True),
    Endpoint(
        "comms-send",
        "api:create_send",
        "POST",
        SEND,
        can_send,
        api=True,
        ok_status=201,
        prepare=send_form,
        done=sent,
    ),
    Endpoint("comms-deliveries", "api:list_deliveries", "GET", SEE_INCIDENT, can_view, api=True),
]
