"""Communications in real browsers, on uvicorn with Redis and a real control worker.

The PM (a viewer holding the product manager role) edits the phase-1 status page
draft and sends it; the IC's page shows the delivery queued, then "sent" without a
reload (the control worker publishes it on the status page and pushes the change);
an anonymous browser then sees the update on /status/todo-app/ within a second.
An update the IC sends meanwhile re-renders the drafts on every page, and the PM's
edit survives it (static/js/comms.js). The overdue banner is shown to the audience's owners only (a separate test, on an
incident made older in the database: the page reads the real clock).
"""

from __future__ import annotations

import io
import threading
import time
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db.models import F
from playwright.sync_api import Browser, expect

from common.capabilities import VIEWERS
from comms.models import Delivery
from incidents import broadcast, events, services
from incidents.models import Incident, Phase
from runbooks.models import Runbook
from statuspage.services import ensure_page
from tests.factories import make_user
from tests.integration.browser import LOAD_MS, ROUND_TRIP_MS, report
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import CHANNEL_PREFIX, REDIS_URL, start_worker, wait_for

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(180),  # the server and the control worker start in the first test
]

DRAFT = "status_page.service_preservation"
EDITED = "Todo App is in maintenance while we revert an update. Next update by 10:30 UTC."


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright():
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_pushes_from_the_test_thread(settings, monkeypatch):
    """Set-up writes in the Playwright thread publish nothing (async_to_sync cannot run
    there, shared/PITFALLS.md); pages opened afterwards read the database."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_PREFIX},
        }
    }
    send_change = broadcast.send_change

    def send_off_the_test_thread(change: events.Change) -> None:
        if threading.current_thread() is not threading.main_thread():
            send_change(change)

    monkeypatch.setattr(broadcast, "send_change", send_off_the_test_thread)


@pytest.fixture(scope="module")
def control_worker(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worker = start_worker(ARTIFACTS, queues="control")
    yield worker
    worker.stop()


@pytest.fixture
def mig_incident(transactional_db, ic, viewer) -> Incident:
    """MIG-002 in its demo environment; the PM (a viewer) holds product_manager."""
    call_command("load_runbooks", stdout=io.StringIO())
    ensure_page("todo-app", "Todo App", ["Web app", "API", "Login", "Task data"])
    version = Runbook.objects.get(slug="mig-002").current_version
    assert version is not None
    incident = services.open_incident(
        version=version,
        environment="demo",
        title="MIG-002 rollback drill",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="product_manager", user_id=viewer.pk, by=ic
    )
    return incident


def test_pm_sends_the_phase_one_draft_ic_sees_it_sent_and_the_public_sees_it(
    control_worker, asgi_server, incident_page, browser: Browser, mig_incident, ic, viewer, capsys
):
    pm_page = incident_page(viewer, mig_incident)
    ic_page = incident_page(ic, mig_incident)
    public = browser.new_context()
    try:
        anonymous = public.new_page()
        anonymous.goto(asgi_server.url + "/status/todo-app/")
        expect(anonymous.get_by_text(EDITED)).to_have_count(0)

        draft = pm_page.get_by_test_id(f"draft-{DRAFT}")
        box = draft.get_by_role("textbox", name="Message")
        expect(box).to_contain_text("maintenance page is shown")  # rendered from live state
        send = pm_page.get_by_test_id(f"send-{DRAFT}")
        expect(send).to_be_visible()
        expect(ic_page.get_by_test_id(f"send-{DRAFT}")).to_be_hidden()  # the PM's, not the IC's
        box.fill(EDITED)
        # The IC sends an update meanwhile: the drafts are pushed again, the PM's text stays.
        ic_page.get_by_test_id("send-incident_commander_updates").click()
        expect(pm_page.locator(".comms-send-list")).to_contain_text(
            "is coordinating the MIG-002 rollback", timeout=ROUND_TRIP_MS
        )
        expect(box).to_have_value(EDITED)
        send.click()

        sent_list = ic_page.locator(".comms-send-list")
        expect(sent_list).to_contain_text(EDITED, timeout=ROUND_TRIP_MS)
        delivery = sent_list.locator(".delivery").filter(has_text="status.todoapp.com")
        expect(delivery).to_have_attribute("data-state", "sent", timeout=LOAD_MS)
        expect(delivery.locator(".badge")).to_have_text("sent")
        expect(pm_page.locator(".comms-send-list .delivery").first).to_have_attribute(
            "data-state", "sent", timeout=ROUND_TRIP_MS
        )

        wait_for(
            lambda: Delivery.objects.filter(state="sent").exists(), timeout=5, what="the delivery"
        )
        started = time.monotonic()
        anonymous.reload()
        expect(anonymous.get_by_text(EDITED)).to_be_visible(timeout=1000)
        report(
            capsys,
            f"status page shows the update {time.monotonic() - started:.2f} s after it was sent",
        )
        assert "pm" not in anonymous.locator("main").inner_text().split()  # no people
        ic_page.screenshot(path=str(ARTIFACTS / "comms-ic.png"), full_page=True)
    finally:
        public.close()


def test_overdue_banner_for_the_owners_and_a_send_clears_it(
    control_worker, incident_page, mig_incident, ic, viewer
):
    # As if opened 31 minutes ago: both audiences' first updates are overdue.
    delta = timedelta(minutes=31)
    Incident.objects.filter(pk=mig_incident.pk).update(opened_at=F("opened_at") - delta)
    Phase.objects.filter(incident=mig_incident).update(started_at=F("started_at") - delta)
    bystander = make_user("reader", VIEWERS)
    pm_page = incident_page(viewer, mig_incident)
    reader = incident_page(bystander, mig_incident)
    banner = pm_page.get_by_test_id("comms-overdue-external")
    expect(banner).to_be_visible()
    expect(banner).to_contain_text("The external update is overdue")
    expect(reader.get_by_test_id("comms-overdue-external")).to_be_hidden()  # not an owner
    expect(pm_page.get_by_test_id("comms-clock-external").locator(".countdown")).to_contain_text(
        "overdue by"
    )
    pm_page.get_by_test_id(f"send-{DRAFT}").click()
    expect(pm_page.get_by_test_id("comms-overdue-external")).to_have_count(0, timeout=ROUND_TRIP_MS)
    expect(pm_page.get_by_test_id("comms-clock-external").locator(".countdown")).to_contain_text(
        "in 2", timeout=ROUND_TRIP_MS
    )
