"""Drafts from live state, who may send, what a send records, cadence on a given clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.template.loader import render_to_string

from comms import cadence, drafts, live, services
from comms.models import Delivery, OverdueNotice, Send
from incidents.models import TimelineEntry
from incidents.services.errors import ServiceError

pytestmark = pytest.mark.django_db


def test_draft_is_rendered_from_live_state(pm_incident):
    spec = pm_incident.runbook_version.parsed()
    now = pm_incident.opened_at + timedelta(minutes=5)
    state = drafts.live_state(pm_incident, spec, now)
    found = {d.key: d for d in drafts.drafts(state, cadence.clocks(pm_incident, spec, now))}
    status = found["status_page.service_preservation"]
    assert "maintenance page is shown" in status.body  # phase 1's user_impact
    due = drafts.clock_text(pm_incident.opened_at + timedelta(minutes=30))
    assert status.body.endswith(f"Next update by {due}.")
    assert [d.label for d in status.destinations] == ["status.todoapp.com"]
    updates = found["incident_commander_updates"]
    assert "phase 1 of 4, Immediate service preservation; 0 of 21 steps done (0%)" in updates.body
    # Phases that have not started have no draft yet.
    assert "status_page.data_rollback" not in found
    values = drafts.values(state, None)
    assert values["elapsed"] == "5 min of a 4 h 00 min plan"
    assert values["eta"].startswith("about ")
    assert "(in 3 h 55 min)" in values["eta"]


def test_eta_follows_the_pace_so_far(pm_incident):
    spec = pm_incident.runbook_version.parsed()
    phases = list(pm_incident.phases.order_by("position"))
    first = phases[0]
    first.ended_at = first.started_at + timedelta(minutes=30)  # twice its 15-minute budget
    first.save()
    second = phases[1]
    second.started_at = first.ended_at
    second.save()
    now = second.started_at
    state = drafts.live_state(pm_incident, spec, now)
    # 225 minutes of budget left, at twice the pace: 450 minutes.
    assert drafts.eta(state) == now + timedelta(minutes=450)


def test_the_owner_role_sends_to_every_destination(pm_incident, viewer, enqueued_deliveries):
    send = services.send_item(
        incident_id=pm_incident.pk,
        user=viewer,
        item_key="product_team",
        phase_key="service_preservation",
        body="Edited by the PM",
    )
    deliveries = list(send.deliveries.all())
    assert [(d.kind, d.label, d.state) for d in deliveries] == [
        ("teams", "product team channel", "queued"),
        ("email", "email", "queued"),
    ]
    assert enqueued_deliveries == [d.pk for d in deliveries]
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.COMMS_SENT)
    assert entry.actor == viewer
    assert "product team channel, email" in entry.text
    assert "Edited by the PM" in entry.text


def test_others_may_not_send(pm_incident, ic, backend, outsider, enqueued_deliveries):
    for user in (backend, ic):  # the IC too, while the PM holds the role
        with pytest.raises(PermissionDenied):
            services.send_item(
                incident_id=pm_incident.pk,
                user=user,
                item_key="status_page",
                phase_key="service_preservation",
            )
    # The IC sends the IC's own items.
    services.send_item(incident_id=pm_incident.pk, user=ic, item_key="incident_commander_updates")
    assert Send.objects.count() == 1


@pytest.mark.parametrize(
    ("item", "phase", "body", "message"),
    [
        ("nope", "", "x", "no communication item 'nope'"),
        ("status_page", "", "x", "sent per phase"),
        ("status_page", "data_rollback", "   ", "needs some text"),
        ("status_page", "service_preservation", "a\x00b", "NUL"),
        ("status_page", "service_preservation", "x" * 4001, "at most 4000"),
    ],
)
def test_bad_sends_are_refused_whole(
    pm_incident, viewer, item, phase, body, message, enqueued_deliveries
):
    with pytest.raises(ServiceError, match=message):
        services.send_item(
            incident_id=pm_incident.pk, user=viewer, item_key=item, phase_key=phase, body=body
        )
    assert not Send.objects.exists()
    assert not Delivery.objects.exists()


def test_overdue_audience_banner_and_timeline_then_a_send_clears_it(
    pm_incident, viewer, enqueued_deliveries
):
    opened = pm_incident.opened_at
    late = opened + timedelta(minutes=31)  # external every 30, internal every 15
    assert services.mark_overdue(opened + timedelta(minutes=10)) == 0
    assert services.mark_overdue(late) == 2
    assert services.mark_overdue(late + timedelta(seconds=20)) == 0  # once per due time
    entries = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.COMMS_OVERDUE)
    assert sorted(e.data["audience"] for e in entries) == ["external", "internal"]
    assert OverdueNotice.objects.count() == 2

    def banner(now):
        pm_incident.refresh_from_db()
        return render_to_string("comms/_clocks.html", live.panel_context(pm_incident, now))

    html = banner(late)
    assert 'data-testid="comms-overdue-external"' in html
    assert "for-product_manager" in html
    services.send_item(
        incident_id=pm_incident.pk,
        user=viewer,
        item_key="status_page",
        phase_key="service_preservation",
        now=late,
    )
    html = banner(late + timedelta(minutes=1))
    assert 'data-testid="comms-overdue-external"' not in html
    assert 'data-testid="comms-overdue-internal"' in html  # not sent to yet


def test_automatic_items_send_themselves_once_per_phase(pm_incident, enqueued_deliveries):
    now = pm_incident.opened_at + timedelta(minutes=1)
    assert services.send_automatic(now) == 1
    assert services.send_automatic(now) == 0
    send = Send.objects.get()
    assert (send.item, send.phase, send.automatic, send.sent_by) == (
        "alert_system",
        "service_preservation",
        True,
        None,
    )
    assert send.body.startswith("MIG-002 rollback: Immediate service preservation started at ")


def test_status_page_delivery_publishes_once(pm_incident, viewer, enqueued_deliveries):
    from statuspage.models import Update

    send = services.send_item(
        incident_id=pm_incident.pk,
        user=viewer,
        item_key="status_page",
        phase_key="service_preservation",
        body="We are reverting a recent update; sign-in is paused.",
    )
    [delivery] = send.deliveries.all()
    assert services.deliver(delivery.pk, env={}) == Delivery.State.SENT
    assert services.deliver(delivery.pk, env={}) is None  # already sent: nothing happens
    update = Update.objects.get()
    assert update.body == "We are reverting a recent update; sign-in is paused."
    assert update.title == "Todo App: reverting a recent update"
    assert (update.status, update.impact) == ("identified", "critical")
    assert update.idempotency_key == str(delivery.idempotency_key)
    # A redelivered task (same key) never publishes twice, even if the row said queued.
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.QUEUED)
    assert services.deliver(delivery.pk, env={}) == Delivery.State.SENT
    assert Update.objects.count() == 1
    entry = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.COMMS_DELIVERY).last()
    assert entry is not None
    assert entry.text.startswith("Delivered to status.todoapp.com")


def test_a_missing_secret_fails_with_its_name_never_a_value(
    pm_incident, viewer, enqueued_deliveries, settings
):
    settings.RIPCORD_COMMS_ATTEMPTS = 1
    send = services.send_item(
        incident_id=pm_incident.pk,
        user=viewer,
        item_key="product_team",
        phase_key="service_preservation",
    )
    teams = send.deliveries.get(kind="teams")
    assert services.deliver(teams.pk, env={}) == Delivery.State.FAILED
    teams.refresh_from_db()
    assert teams.reason == (
        "destination 'product_channel' expects environment variable "
        "RIPCORD_DEMO_PRODUCT_TEAMS_WEBHOOK on the worker"
    )


def test_postmortem_says_what_went_out_and_the_cadence_against_the_gaps(
    pm_incident, viewer, ic, enqueued_deliveries
):
    from postmortem.data import postmortem_data
    from postmortem.markdown import render_markdown
    from tests.postmortem.mdparse import sections

    opened = pm_incident.opened_at
    services.send_item(
        incident_id=pm_incident.pk,
        user=viewer,
        item_key="status_page",
        phase_key="service_preservation",
        body="First | public update",
        now=opened + timedelta(minutes=10),
    )
    services.send_item(
        incident_id=pm_incident.pk,
        user=viewer,
        item_key="status_page",
        phase_key="service_preservation",
        body="Second update",
        now=opened + timedelta(minutes=55),
    )
    Delivery.objects.filter(send__body="First | public update").update(
        state="failed", attempts=4, reason="HTTP 500"
    )
    data = postmortem_data(pm_incident)
    [external, internal] = data.communications.cadence
    assert (external.audience, external.every_minutes, external.sends) == ("external", 30, 2)
    assert external.longest_gap_seconds >= 45 * 60
    assert external.late_gaps >= 1
    assert (internal.audience, internal.sends) == ("internal", 0)
    _, _, bodies = sections(render_markdown(data))
    text = bodies["Communications"]
    assert "| external | every 30 min | 2 | 45m 00s |" in text
    assert "First \\| public update" in text
    assert "status.todoapp.com: failed after 4 attempts (HTTP 500)" in text
