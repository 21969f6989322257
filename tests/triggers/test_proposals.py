"""A firing alert proposes a rollback; the IC opens it in one click or declines with a reason."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client, override_settings

from incidents.models import Incident, TimelineEntry
from incidents.services import ServiceError
from tests.triggers.conftest import am_alert, am_body, post, sign
from triggers import secrets, services
from triggers.models import Alert, Proposal, Receiver


def test_firing_alerts_share_one_open_proposal(alertmanager, ic):
    receiver, token = alertmanager
    post(receiver, token, am_body(am_alert(instance="a")))
    post(receiver, token, am_body(am_alert(instance="b")))
    proposal = Proposal.objects.get()
    assert proposal.status == "open" and proposal.environment == "staging"
    assert proposal.alerts.count() == 2
    assert {a.trigger_key for a in proposal.alerts.all()} == {"api_errors"}


def test_identical_alerts_in_one_group_are_one_and_fingerprint_is_not_identity(alertmanager):
    receiver, token = alertmanager
    body = am_body(am_alert(instance="a"), am_alert(instance="a"), am_alert(instance="b"))
    answer = post(receiver, token, body).json()
    assert answer["fired"] == 2  # the two "a" are one; "b" differs though its fingerprint is equal
    assert Alert.objects.count() == 2


def test_labels_and_alertname_choose_the_runbook(alertmanager, other_runbook, runbook):
    receiver, token = alertmanager
    post(receiver, token, am_body(am_alert("disk_full", instance="x")))  # a trigger id of OTHER
    post(receiver, token, am_body(am_alert("Unknown", ripcord_runbook="other", instance="y")))
    post(receiver, token, am_body(am_alert("Unknown", ripcord_environment="production")))
    routed = {
        (a.alertname, a.labels.get("instance")): (a.runbook.slug, a.environment, a.trigger_key)
        for a in Alert.objects.all()
    }
    assert routed == {
        ("disk_full", "x"): ("other", "staging", "disk_full"),
        ("Unknown", "y"): ("other", "staging", ""),
        ("Unknown", None): ("small", "production", ""),
    }
    assert Proposal.objects.count() == 2  # other in staging, small in production


def test_open_from_proposal_records_the_evidence_and_later_alerts_join_the_incident(
    alertmanager, ic, django_capture_on_commit_callbacks
):
    receiver, token = alertmanager
    post(receiver, token, am_body(am_alert(instance="a")))
    proposal = Proposal.objects.get()
    client = Client()
    client.force_login(ic)
    response = client.post(f"/triggers/proposals/{proposal.pk}/open/")
    incident = Incident.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/incidents/{incident.pk}/"
    proposal.refresh_from_db()
    assert proposal.status == "accepted" and proposal.incident == incident
    fired = TimelineEntry.objects.get(incident=incident, kind=TimelineEntry.Kind.TRIGGER_FIRED)
    assert "ApiErrorsHigh fired" in fired.text and "instance=a" in fired.text
    assert fired.data["labels"]["instance"] == "a"
    assert fired.data["source_url"].startswith("http://prometheus:9090/")
    # A further alert attaches to the incident, not a new proposal; its resolution is recorded.
    post(receiver, token, am_body(am_alert(instance="b")))
    assert Proposal.objects.count() == 1
    assert Alert.objects.get(labels__instance="b").incident == incident
    post(receiver, token, am_body(am_alert(instance="b", status="resolved"), status="resolved"))
    kinds = list(
        TimelineEntry.objects.filter(incident=incident)
        .order_by("at", "pk")
        .values_list("kind", flat=True)
    )
    assert kinds[-2:] == [TimelineEntry.Kind.TRIGGER_FIRED, TimelineEntry.Kind.TRIGGER_RESOLVED]
    # Opening twice is refused.
    with pytest.raises(ServiceError):
        services.open_from_proposal(proposal_id=proposal.pk, by=ic)


def test_the_banner_shows_commanders_the_proposal_with_its_evidence(alertmanager, ic, viewer):
    receiver, token = alertmanager
    post(receiver, token, am_body(am_alert(instance="api-1")))
    client = Client()
    client.force_login(ic)
    page = client.get("/").content.decode()
    assert "Rollback proposed: Small rollback in staging" in page
    assert "ApiErrorsHigh" in page and "instance=api-1" in page
    assert 'href="http://prometheus:9090/graph?g0.expr=x"' in page
    client.force_login(viewer)
    assert "Rollback proposed" not in client.get("/").content.decode()


def test_decline_needs_a_reason(alertmanager, ic, backend):
    receiver, token = alertmanager
    post(receiver, token, am_body(am_alert()))
    proposal = Proposal.objects.get()
    client = Client()
    client.force_login(ic)
    client.post(f"/triggers/proposals/{proposal.pk}/decline/", {"reason": "   "})
    proposal.refresh_from_db()
    assert proposal.status == "open"
    client.force_login(backend)
    assert (
        client.post(f"/triggers/proposals/{proposal.pk}/decline/", {"reason": "x"}).status_code
        == 403
    )
    client.force_login(ic)
    client.post(
        f"/triggers/proposals/{proposal.pk}/decline/", {"reason": "known blip, no data lost"}
    )
    proposal.refresh_from_db()
    assert proposal.status == "declined" and proposal.decline_reason == "known blip, no data lost"
    assert proposal.decided_by == ic
    assert "Rollback proposed" not in client.get("/").content.decode()


def test_create_receiver_command_prints_url_then_credential(runbook, ic):
    out = io.StringIO()
    call_command(
        "create_receiver",
        "--kind",
        "alertmanager",
        "--runbook",
        "small",
        "--environment",
        "staging",
        "--base-url",
        "https://ripcord.example",
        stdout=out,
    )
    url, token = out.getvalue().splitlines()
    receiver = Receiver.objects.get()
    assert url == f"https://ripcord.example/hooks/{receiver.hook_id}/"
    assert receiver.token_sha256 == secrets.hash_token(token) and token not in str(
        Receiver.objects.values().get()
    )
    out = io.StringIO()
    call_command(
        "create_receiver",
        "--kind",
        "pagerduty",
        "--runbook",
        "small",
        "--environment",
        "staging",
        "--secret",
        "whsec-0123456789abcdef",
        stdout=out,
    )
    assert out.getvalue().splitlines()[1] == "whsec-0123456789abcdef"
    pd = Receiver.objects.get(kind="pagerduty")
    assert "whsec" not in pd.secret_encrypted and not pd.token_sha256
    with pytest.raises(CommandError, match="no environment"):
        call_command(
            "create_receiver", "--kind", "grafana", "--runbook", "small", "--environment", "mars"
        )


def test_signing_secret_survives_a_key_rotation(runbook, ic, client):
    from cryptography.fernet import Fernet

    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    with override_settings(RIPCORD_RECEIVER_KEY=old):
        receiver, secret = services.create_receiver(
            kind="pagerduty",
            runbook=runbook,
            environment="staging",
            created_by=ic,
            secret="pd-signing-secret-0123456789",
        )
    body = (
        b'{"event": {"id": "1", "event_type": "pagey.ping", "occurred_at": "2026-12-03T07:00:00Z"}}'
    )
    with override_settings(RIPCORD_RECEIVER_KEY=new, RIPCORD_RECEIVER_OLD_KEYS=[old]):
        assert post(receiver, secret, body).status_code == 200
    with override_settings(RIPCORD_RECEIVER_KEY=new, RIPCORD_RECEIVER_OLD_KEYS=[old]):
        call_command("rotate_receiver_keys", stdout=io.StringIO())
    with override_settings(RIPCORD_RECEIVER_KEY=new, RIPCORD_RECEIVER_OLD_KEYS=[]):
        assert post(Receiver.objects.get(), secret, body).status_code == 200  # new key alone
    receiver = Receiver.objects.get()
    with override_settings(RIPCORD_RECEIVER_KEY=old, RIPCORD_RECEIVER_OLD_KEYS=[]):
        response = client.post(
            f"/hooks/{receiver.hook_id}/",
            body,
            content_type="application/json",
            HTTP_X_PAGERDUTY_SIGNATURE=sign(secret, body),
        )
        assert response.status_code == 401  # the old key alone no longer opens it
        with pytest.raises(CommandError, match="no configured key"):
            call_command("rotate_receiver_keys", stdout=io.StringIO())


def test_receivers_page_creates_one_and_shows_the_credential_once(runbook, ic, backend):
    client = Client()
    client.force_login(backend)
    assert client.get("/triggers/receivers/").status_code == 403
    client.force_login(ic)
    response = client.post(
        "/triggers/receivers/",
        {"kind": "alertmanager", "runbook": "small", "environment": "staging", "name": "prod AM"},
    )
    assert response.status_code == 201
    page = response.content.decode()
    receiver = Receiver.objects.get()
    assert f"/hooks/{receiver.hook_id}/" in page and "rcv_" in page
    assert "rcv_" not in client.get("/triggers/receivers/").content.decode().replace(
        f"{receiver.hint}…", ""
    )


def test_the_postmortem_shows_the_alerts_on_the_record(alertmanager, ic):
    receiver, token = alertmanager
    post(receiver, token, am_body(am_alert(instance="api-9")))
    incident = services.open_from_proposal(proposal_id=Proposal.objects.get().pk, by=ic)
    post(receiver, token, am_body(am_alert(instance="api-9", status="resolved"), status="resolved"))
    client = Client()
    client.force_login(ic)
    markdown = client.get(f"/incidents/{incident.pk}/postmortem.md").content.decode()
    section = markdown.split("## Alerts on the record", 1)[1].split("\n## ", 1)[0]
    assert "ApiErrorsHigh" in section and "instance=api-9" in section
    assert "resolved" in section and "`api_errors`" in section
    assert "[source](<http://prometheus:9090/graph?g0.expr=x>)" in section
