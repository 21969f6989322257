"""Malformed bodies, wrong credentials, big and deep bodies: a 4xx naming why, and no write."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from tests.triggers.conftest import am_alert, am_body, post
from triggers.asgi import ReceiverBodyLimit
from triggers.models import Alert, Proposal, Receiver


def table_rows() -> dict[str, list[tuple[str, ...]]]:
    """Every row of every table of this database: 'nothing written' is checked whole."""
    out: dict[str, list[tuple[str, ...]]] = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names()):
            cursor.execute(f'SELECT * FROM "{table}" ORDER BY 1')  # our own table names
            out[table] = [tuple(map(str, row)) for row in cursor.fetchall()]
    return out


OK_ALERT = am_alert()
BAD_BODIES = [
    (b"not json at all", 400, "body"),
    (b"", 400, "body"),
    (b'{"version": "4", "alerts": [\xff]}', 400, "body"),  # invalid UTF-8
    (b"[1, 2]", 400, "body"),
    (b'{"version": 4, "status": "firing", "alerts": []}', 422, "version"),
    (am_body(OK_ALERT, version="3"), 422, "version"),
    (json.dumps({"status": "firing", "alerts": [OK_ALERT]}).encode(), 422, "version"),
    (am_body(), 422, "alerts"),
    (am_body({**OK_ALERT, "labels": "ApiErrorsHigh"}), 422, "alerts[0].labels"),
    (am_body({**OK_ALERT, "labels": {"alertname": 5}}), 422, "alerts[0].labels.alertname"),
    (am_body({**OK_ALERT, "labels": {"job": "x"}}), 422, "alerts[0].labels.alertname"),
    (am_body({k: v for k, v in OK_ALERT.items() if k != "startsAt"}), 422, "alerts[0].startsAt"),
    (am_body({**OK_ALERT, "startsAt": "yesterday"}), 422, "alerts[0].startsAt"),
    (am_body({**OK_ALERT, "status": "burning"}), 422, "alerts[0].status"),
    (am_body({**OK_ALERT, "startsAt": 1700000000}), 422, "alerts[0].startsAt"),
    (b'{"version": "4", "status": "firing", "alerts": [], "x": NaN}', 400, "body"),
    (b'{"version": "4", "status": "firing", "alerts": [], "x": -Infinity}', 400, "body"),
    (
        am_body({**OK_ALERT, "labels": {"alertname": "a\\u0000b"}}).replace(b"\\\\u", b"\\u"),
        422,
        "alerts[0].labels.alertname",
    ),
    (am_body({**OK_ALERT, "labels": {"alertname": "\ud800"}}), 422, "alerts[0].labels.alertname"),
    (b'{"version": "4", "alerts": ' + b"[" * 40 + b"]" * 40 + b"}", 400, "body"),
    (
        am_body(OK_ALERT, ALERT=OK_ALERT, alerts_x=[[[[[[]]]]]]).replace(b'"alerts_x"', b'"y"'),
        200,
        None,
    ),
    (am_body(am_alert(ripcord_runbook="nope")), 422, "alerts[0].labels.ripcord_runbook"),
    (am_body(am_alert(ripcord_environment="mars")), 422, "alerts[0].labels.ripcord_environment"),
]


@pytest.mark.parametrize(("body", "status", "field"), BAD_BODIES)
def test_malformed_body_is_a_4xx_naming_the_field(alertmanager, body, status, field):
    receiver, token = alertmanager
    before = table_rows() if status >= 400 else None
    response = post(receiver, token, body)
    assert response.status_code == status, response.content
    if status < 400:
        return
    assert response.json()["field"] == field, response.json()
    assert response.json()["error"]
    # Only the rate counter moved (the request passed its credential); nothing else.
    after = table_rows()
    rate = Receiver._meta.db_table
    assert {t: r for t, r in after.items() if t != rate} == {
        t: r for t, r in (before or {}).items() if t != rate
    }


def test_one_bad_alert_writes_none_of_the_batch(alertmanager):
    receiver, token = alertmanager
    body = am_body(am_alert(), am_alert("Other", ripcord_runbook="nope"))
    assert post(receiver, token, body).status_code == 422
    assert not Alert.objects.exists() and not Proposal.objects.exists()


def test_deep_nesting_is_refused_fast(alertmanager):
    receiver, token = alertmanager
    body = b'{"version": "4", "alerts": ' + b"[" * 10_000 + b"]" * 10_000 + b"}"
    started = time.perf_counter()
    response = post(receiver, token, body)
    assert time.perf_counter() - started < 1.0
    assert response.status_code == 400
    assert "nested deeper than 32" in response.json()["error"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"HTTP_AUTHORIZATION": "Bearer rcv_wrong"},
        {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"},
        {"HTTP_AUTHORIZATION": "Bearer"},
        {"HTTP_AUTHORIZATION": "Bearer " + "x" * 5000},
    ],
)
def test_wrong_bearer_writes_nothing(alertmanager, headers, client):
    receiver, _ = alertmanager
    before = table_rows()
    response = client.post(
        f"/hooks/{receiver.hook_id}/",
        am_body(am_alert()),
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 401
    assert response.json()["field"] == "Authorization"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert table_rows() == before


def test_another_receivers_token_is_wrong(alertmanager, grafana, client):
    receiver, _ = alertmanager
    _, grafana_token = grafana
    before = table_rows()
    assert post(receiver, grafana_token, am_body(am_alert())).status_code == 401
    assert table_rows() == before


def test_wrong_pagerduty_signature_writes_nothing(pagerduty, client):
    from tests.triggers.conftest import CORPUS, sign

    receiver, secret = pagerduty
    body = (CORPUS / "pagerduty-v3__zulip__zulip__triggered_v3.json").read_bytes()
    before = table_rows()
    for signature in [
        "",
        "v1=00",
        sign("another-secret-0123456789", body),
        sign(secret, body + b" "),
    ]:
        response = client.post(
            f"/hooks/{receiver.hook_id}/",
            body,
            content_type="application/json",
            HTTP_X_PAGERDUTY_SIGNATURE=signature,
        )
        assert response.status_code == 401
        assert response.json()["field"] == "X-PagerDuty-Signature"
    assert table_rows() == before
    # Several signatures (during PagerDuty's own secret rotation): one valid one is enough.
    response = client.post(
        f"/hooks/{receiver.hook_id}/",
        body,
        content_type="application/json",
        HTTP_X_PAGERDUTY_SIGNATURE=f"v1=00, {sign(secret, body)}",
    )
    assert response.status_code == 200 and response.json()["fired"] == 1


def test_pagerduty_ping_is_acknowledged_and_does_nothing(pagerduty):
    receiver, secret = pagerduty
    body = json.dumps(
        {"event": {"id": "01", "event_type": "pagey.ping", "occurred_at": "2026-12-03T07:00:00Z"}}
    ).encode()
    response = post(receiver, secret, body)
    assert response.status_code == 200 and response.json()["ping"] is True
    assert not Alert.objects.exists()


def test_unknown_hook_is_404(db, client):
    assert client.post("/hooks/nope/", b"{}", content_type="application/json").status_code == 404


def test_inactive_receiver_refuses(alertmanager):
    receiver, token = alertmanager
    Receiver.objects.filter(pk=receiver.pk).update(is_active=False)
    assert post(receiver, token, am_body(am_alert())).status_code == 401


@override_settings(RIPCORD_RECEIVER_MAX_BODY=4096)
def test_body_over_the_limit_is_413_in_the_view(alertmanager):
    receiver, token = alertmanager
    response = post(receiver, token, b" " * 5000)
    assert response.status_code == 413
    assert not Alert.objects.exists()


@override_settings(RIPCORD_RECEIVER_RATE_PER_MINUTE=2)
def test_rate_limit_per_receiver(alertmanager, grafana):
    receiver, token = alertmanager
    codes = [post(receiver, token, am_body(am_alert())).status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    limited = post(receiver, token, am_body(am_alert()))
    assert int(limited["Retry-After"]) >= 1
    # Another receiver has its own budget.
    other, other_token = grafana
    assert post(other, other_token, b"{}").status_code == 422


# --- the ASGI wrapper: 413 before Django reads the body ---------------------------


async def _drive(limit: int, chunks: int, chunk_size: int, declared: int | None):
    reads = 0
    inner_called = False

    async def receive():
        nonlocal reads
        reads += 1
        return {"type": "http.request", "body": b"x" * chunk_size, "more_body": reads < chunks}

    sent: list[dict[str, Any]] = []

    async def send(message):
        sent.append(message)

    async def inner(scope, receive, send):
        nonlocal inner_called
        inner_called = True

    headers = [(b"content-length", str(declared).encode())] if declared is not None else []
    scope = {"type": "http", "path": "/hooks/abc/", "headers": headers}
    await ReceiverBodyLimit(inner, lambda: limit)(scope, receive, send)
    return reads, inner_called, sent


def test_asgi_refuses_a_6mb_body_by_its_declared_length_without_reading_it():
    started = time.perf_counter()
    reads, called, sent = asyncio.run(_drive(1 << 20, 96, 65536, declared=6 * 1024 * 1024))
    assert time.perf_counter() - started < 1.0
    assert reads == 0 and not called
    assert sent[0]["status"] == 413


def test_asgi_refuses_a_6mb_chunked_body_after_reading_only_the_limit():
    reads, called, sent = asyncio.run(_drive(1 << 20, 96, 65536, declared=None))
    assert not called and sent[0]["status"] == 413
    assert reads == (1 << 20) // 65536 + 1  # memory held: the limit and one chunk, never 6 MB


def test_asgi_passes_a_body_within_the_limit():
    reads, called, sent = asyncio.run(_drive(1 << 20, 4, 1000, declared=4000))
    assert called and reads == 4 and not sent
