"""Deliveries against real peers, run by a real Celery worker on the control queue.

A local HTTP server receives the Slack-compatible, Teams (Adaptive Card) and signed
JSON webhooks; aiosmtpd receives the mail. An endpoint that fails twice then accepts
gets exactly one message (the same idempotency key on every attempt); one that
always fails ends "failed" with its reason after the bounded retries, and the owner
sees it on the incident page.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from common.capabilities import COMMANDERS
from comms import services
from comms.models import Delivery
from incidents import services as incident_services
from incidents.models import TimelineEntry
from tests.comms.peers import smtp_peer, webhook_peer
from tests.factories import SMALL_RUNBOOK, make_user, make_version
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import (
    BROKER_PREFIX,
    BROKER_URL,
    sending_to,
    start_worker,
    wait_for,
)

pytestmark = [
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(120),
]

SIGNING_KEY = "c13-signing-key-never-shown"
ATTEMPTS = 3


def runbook() -> dict[str, Any]:
    spec = copy.deepcopy(SMALL_RUNBOOK)
    spec["id"] = "comms-peers"
    destinations = [
        {"id": "chat", "kind": "slack", "title": "#alerts", "url": "env:C13_SLACK"},
        {"id": "teams", "kind": "teams", "title": "product channel", "url": "env:C13_TEAMS"},
        {
            "id": "hook",
            "kind": "webhook",
            "title": "pager",
            "url": "env:C13_HOOK",
            "secret": "env:C13_KEY",
        },
        {
            "id": "mail",
            "kind": "email",
            "title": "email",
            "recipients": {"external": ["users@todo.example", "ops@todo.example"]},
        },
        {"id": "flaky", "kind": "slack", "title": "flaky chat", "url": "env:C13_FLAKY"},
        {
            "id": "down",
            "kind": "webhook",
            "title": "dead pager",
            "url": "env:C13_DOWN",
            "secret": "env:C13_KEY",
        },
    ]
    for env in spec["environments"]:
        env["destinations"] = destinations
    spec["communications"] = [
        {
            "id": "announce",
            "audience": "external",
            "channel": "everywhere",
            "owner": "incident_commander",
            "description": "Tell everyone",
            "destinations": ["chat", "teams", "hook", "mail"],
            "template": "{incident}: {status}",
        },
        {
            "id": "flaky_item",
            "audience": "internal",
            "channel": "chat",
            "owner": "incident_commander",
            "description": "Flaky",
            "destinations": ["flaky"],
        },
        {
            "id": "down_item",
            "audience": "internal",
            "channel": "pager",
            "owner": "incident_commander",
            "description": "Down",
            "destinations": ["down"],
        },
    ]
    return spec


@pytest.fixture(scope="module")
def peers():
    with webhook_peer() as web, smtp_peer() as (mail, smtp_port):
        yield web, mail, smtp_port


@pytest.fixture(scope="module")
def control_worker(django_db_setup, django_db_blocker, peers):
    web, _, smtp_port = peers
    with django_db_blocker.unblock():
        worker = start_worker(
            ARTIFACTS,
            queues="control",
            C13_SLACK=f"{web.url}/slack",
            C13_TEAMS=f"{web.url}/teams",
            C13_HOOK=f"{web.url}/hook",
            C13_FLAKY=f"{web.url}/flaky",
            C13_DOWN=f"{web.url}/down",
            C13_KEY=SIGNING_KEY,
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp_port),
            DEFAULT_FROM_EMAIL="ripcord@todo.example",
            RIPCORD_COMMS_ATTEMPTS=str(ATTEMPTS),
            RIPCORD_COMMS_RETRY_MS="200",
        )
    yield worker
    worker.stop()


@pytest.fixture
def opened(control_worker):
    ic = make_user("ic", COMMANDERS)
    incident = incident_services.open_incident(
        version=make_version(runbook()),
        environment="staging",
        title="Todo App rollback",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    return incident, ic


def settled(send_pk: int, n: int) -> bool:
    states = list(Delivery.objects.filter(send_id=send_pk).values_list("state", flat=True))
    return len(states) == n and Delivery.State.QUEUED not in states


def test_each_kind_reaches_its_real_peer(opened, peers):
    incident, ic = opened
    web, mail, _ = peers
    with sending_to(BROKER_URL, BROKER_PREFIX):
        send = services.send_item(
            incident_id=incident.pk,
            user=ic,
            item_key="announce",
            body="Reverting <now> & soon.\nSecond line.",
        )
    wait_for(lambda: settled(send.pk, 4), timeout=60, what="four deliveries to settle")
    keys = {d.kind: str(d.idempotency_key) for d in send.deliveries.all()}
    assert {d.kind: d.state for d in send.deliveries.all()} == dict.fromkeys(keys, "sent")
    title = "Todo App rollback: Tell everyone"

    [slack] = web.hits("/slack")
    assert slack.headers["content-type"] == "application/json"
    assert slack.headers["idempotency-key"] == keys["slack"]
    assert json.loads(slack.raw) == {"text": f"*{title}*\nReverting <now> & soon.\nSecond line."}

    [teams] = web.hits("/teams")
    assert teams.headers["idempotency-key"] == keys["teams"]
    card = json.loads(teams.raw)
    assert card["type"] == "message"
    [attachment] = card["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert attachment["content"]["type"] == "AdaptiveCard"
    assert [block["text"] for block in attachment["content"]["body"]] == [
        title,
        "Reverting <now> & soon.\nSecond line.",
    ]

    [hook] = web.hits("/hook")
    expected = "sha256=" + hmac.new(SIGNING_KEY.encode(), hook.raw, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(hook.headers["x-ripcord-signature"], expected)
    assert hook.headers["idempotency-key"] == keys["webhook"]
    payload = json.loads(hook.raw)
    assert payload["incident"] == {"id": incident.pk, "title": "Todo App rollback"}
    assert (payload["item"], payload["audience"], payload["body"]) == (
        "announce",
        "external",
        "Reverting <now> & soon.\nSecond line.",
    )
    assert payload["idempotency_key"] == keys["webhook"]

    [(sender, recipients, message)] = mail.messages
    assert sender == "ripcord@todo.example"
    assert sorted(recipients) == ["ops@todo.example", "users@todo.example"]
    assert message["Subject"] == title
    assert message["Message-ID"] == f"<{keys['email']}@ripcord>"
    assert message["X-Ripcord-Incident"] == str(incident.pk)
    assert message.get_content_type() == "multipart/alternative"
    plain = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert plain is not None and html is not None
    # SMTP carries CRLF line ends.
    assert plain.get_content().replace("\r\n", "\n") == "Reverting <now> & soon.\nSecond line.\n"
    assert "Reverting &lt;now&gt; &amp; soon.<br>Second line." in html.get_content()

    texts = list(
        TimelineEntry.objects.filter(kind=TimelineEntry.Kind.COMMS_DELIVERY).values_list(
            "text", flat=True
        )
    )
    assert sorted(t.split(" (")[0] for t in texts) == [
        "Delivered to #alerts",
        "Delivered to email",
        "Delivered to pager",
        "Delivered to product channel",
    ]


def test_failing_twice_then_accepting_gets_exactly_one_message(opened, peers):
    incident, ic = opened
    web, _, _ = peers
    with sending_to(BROKER_URL, BROKER_PREFIX):
        send = services.send_item(
            incident_id=incident.pk, user=ic, item_key="flaky_item", body="Once only"
        )
    wait_for(lambda: settled(send.pk, 1), timeout=60, what="the flaky delivery to settle")
    delivery = send.deliveries.get()
    assert (delivery.state, delivery.attempts, delivery.reason) == ("sent", 3, "")
    hits = web.hits("/flaky")
    assert len(hits) == 3
    assert {h.headers["idempotency-key"] for h in hits} == {str(delivery.idempotency_key)}
    assert [json.loads(r.raw)["text"] for r in web.accepted_at("/flaky")] == [
        "*Todo App rollback: Flaky*\nOnce only"
    ]


def test_always_failing_ends_failed_with_its_reason_visible_to_the_owner(opened, peers):
    incident, ic = opened
    web, _, _ = peers
    with sending_to(BROKER_URL, BROKER_PREFIX):
        send = services.send_item(
            incident_id=incident.pk, user=ic, item_key="down_item", body="Nobody hears"
        )
    wait_for(lambda: settled(send.pk, 1), timeout=60, what="the dead delivery to fail")
    delivery = send.deliveries.get()
    assert delivery.state == "failed"
    assert delivery.attempts == ATTEMPTS
    assert delivery.reason == "HTTP 500 Internal Server Error: receiver unavailable"
    assert len(web.hits("/down")) == ATTEMPTS
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.COMMS_DELIVERY)
    assert entry.text == (
        "Delivery to dead pager failed after 3 attempt(s): "
        "HTTP 500 Internal Server Error: receiver unavailable"
    )
    client = Client()
    client.force_login(ic)
    page = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert f'data-testid="delivery-{delivery.pk}" data-state="failed"' in page
    assert "HTTP 500 Internal Server Error: receiver unavailable" in page
    assert web.url not in page and SIGNING_KEY not in page
