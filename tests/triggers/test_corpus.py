"""Every payload of the shared corpus, posted to the receiver of its kind: the right answer."""

from __future__ import annotations

from typing import Any

import pytest

from tests.triggers.conftest import CORPUS, make_receiver, post
from triggers.models import Alert, Proposal

# file → (receiver kind, HTTP status, alerts fired, alerts resolved); 4xx rows name the field.
EXPECTED: dict[str, tuple[Any, ...]] = {
    "alertmanager__idealista__prom2teams__all_ok_multiple.json": ("alertmanager", 200, 0, 2),
    "alertmanager__idealista__prom2teams__with_common_items.json": ("alertmanager", 200, 0, 1),
    "alertmanager__idealista__prom2teams__without_mandatory_field.json": (
        "alertmanager",
        422,
        "alerts[0].status",
    ),
    "alertmanager__prometheus-msteams__prometheus-msteams__prom_post_request.json": (
        "alertmanager",
        200,
        1,
        0,
    ),
    "alertmanager__zulip__zulip__alert.json": ("alertmanager", 200, 1, 0),  # two identical: one
    "alertmanager__zulip__zulip__single_alert.json": ("alertmanager", 200, 0, 1),
    "grafana-legacy__zulip__zulip__alert.json": ("grafana", 422, "body"),
    "grafana-unified__zulip__zulip__alert-9-mixed.json": ("grafana", 200, 1, 2),
    "grafana-unified__zulip__zulip__alert-9-resolved.json": ("grafana", 200, 0, 1),
    "grafana-unified__zulip__zulip__alert-9.json": ("grafana", 200, 1, 0),
    "grafana-unified__zulip__zulip__alert_values_v11.json": ("grafana", 200, 1, 0),
    "opsgenie__zulip__zulip__acknowledge.json": ("alertmanager", 422, "version"),
    "opsgenie__zulip__zulip__close.json": ("grafana", 422, "version"),
    "opsgenie__zulip__zulip__create.json": ("pagerduty", 422, "event"),
    "pagerduty-v3__zulip__zulip__resolved_v3.json": ("pagerduty", 200, 0, 1),
    "pagerduty-v3__zulip__zulip__triggered_v3.json": ("pagerduty", 200, 1, 0),
}


def test_the_table_covers_the_whole_corpus():
    assert {p.name for p in CORPUS.glob("*.json")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_payload(name, runbook, ic):
    kind, status, *rest = EXPECTED[name]
    secret = {"secret": "pd-signing-secret-0123456789"} if kind == "pagerduty" else {}
    receiver, credential = make_receiver(kind, runbook, ic, **secret)
    body = (CORPUS / name).read_bytes()
    response = post(receiver, credential, body)
    assert response.status_code == status, response.content
    if status >= 400:
        assert response.json()["field"] == rest[0]
        assert response.json()["error"]
        assert not Alert.objects.exists() and not Proposal.objects.exists()
        return
    fired, resolved = rest
    assert response.json()["fired"] == fired
    assert response.json()["resolved"] == resolved
    assert Alert.objects.filter(status="firing").count() == fired
    assert Alert.objects.filter(status="resolved").count() == resolved
    assert Proposal.objects.count() == (1 if fired else 0)
    # Replaying the same body creates nothing new.
    before = list(Alert.objects.values_list("pk", "status", "resolved_at").order_by("pk"))
    again = post(receiver, credential, body)
    assert again.status_code == 200
    assert again.json()["fired"] == again.json()["resolved"] == 0
    assert list(Alert.objects.values_list("pk", "status", "resolved_at").order_by("pk")) == before
    assert Proposal.objects.count() == (1 if fired else 0)


def test_a_firing_alert_then_its_resolution(alertmanager):
    receiver, token = alertmanager
    firing = (CORPUS / "alertmanager__zulip__zulip__alert.json").read_bytes()
    resolved = (CORPUS / "alertmanager__zulip__zulip__single_alert.json").read_bytes()
    assert post(receiver, token, firing).json()["fired"] == 1
    answer = post(receiver, token, resolved).json()
    assert answer["resolved"] == 1
    alert = Alert.objects.get()
    assert alert.status == "resolved" and alert.resolved_at is not None
    assert alert.proposal is not None  # recorded on the proposal it fired
