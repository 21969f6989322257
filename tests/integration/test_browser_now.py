"""The "now" header in a real browser, read as the product manager (a viewer) reads it.

A MIG-002 drill is made 20 minutes old in the database, so its first phase (a
15-minute budget) is 5 minutes over. The PM's page (Chromium, Berlin time, British
English) must say, in plain words: which phase runs and how late it is, what comes
next and who owns it, what blocks, and when the incident should end. Then the
backend engineer ticks the next step in a worker thread (the push goes through
Redis, as in production) and the PM's header moves on without a reload.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import TypeVar

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import F
from django.utils import timezone
from playwright.sync_api import Page, expect

from incidents import broadcast, events, services
from incidents.models import Incident, Phase, SafeguardCheck, Step
from runbooks.models import Runbook
from tests.integration.browser import ROUND_TRIP_MS
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import CHANNEL_PREFIX, REDIS_URL

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
BERLIN = {"timezone_id": "Europe/Berlin", "locale": "en-GB"}
IDENTIFIER = re.compile(r"\b[a-z0-9]+_[a-z0-9_]+\b")  # snake_case: a key, not words


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright(django_db_setup) -> Iterator[None]:
    # django_db_setup first: the test database exists before Playwright's loop starts.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _push_from_worker_threads_only(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes in a worker thread reach the browsers through the server's Redis; set-up
    in the test thread publishes nothing (async_to_sync cannot run beside Playwright)."""
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


def in_worker_thread(work: Callable[[], T]) -> T:
    def run() -> T:
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=30)


@pytest.fixture
def late_incident(transactional_db, ic, backend, viewer) -> Incident:
    call_command("load_runbooks", stdout=io.StringIO())
    version = Runbook.objects.get(slug="mig-002").current_version
    assert version is not None
    incident = services.open_incident(
        version=version,
        environment="staging",
        title="MIG-002 rollback drill",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    services.assign_role(
        incident_id=incident.pk, role_key="product_manager", user_id=viewer.pk, by=ic
    )
    delta = timedelta(minutes=20)
    Incident.objects.filter(pk=incident.pk).update(opened_at=F("opened_at") - delta)
    Phase.objects.filter(incident=incident).update(
        planned_start_at=F("planned_start_at") - delta,
        planned_end_at=F("planned_end_at") - delta,
        started_at=F("started_at") - delta,
    )
    SafeguardCheck.objects.create(
        incident=incident,
        safeguard_id="flags_default_off",
        title="Flags default to “off” state",
        result="fail",
        summary="flags on: api_v1",
        checked_at=timezone.now(),
    )
    incident.refresh_from_db()
    return incident


def header_text(page: Page) -> str:
    return page.get_by_test_id("now").inner_text()


@pytest.mark.timeout(90)
def test_a_viewer_reads_phase_lateness_next_step_owner_and_eta(
    incident_page, late_incident, viewer, backend
):
    page = incident_page(viewer, late_incident, **BERLIN)
    now = page.get_by_test_id("now")

    expect(now.get_by_test_id("now-phase")).to_contain_text(
        "Phase 1 of 4: Immediate service preservation"
    )
    expect(now.get_by_test_id("now-phase")).to_contain_text("Overrun")
    expect(now.get_by_test_id("now-clock")).to_have_text(
        re.compile(r"over its 15 min budget by [45] min")
    )
    expect(now.get_by_test_id("now-next")).to_have_text(
        "“Disable new endpoints”, owned by Backend engineer (backend)."
    )
    expect(now.get_by_test_id("now-blockers")).to_contain_text(
        "Safeguard “Flags default to “off” state” is not met."
    )
    # ETA: the three later phases' budgets (3 h 45 min) from now, in Berlin time with its zone.
    eta = now.get_by_test_id("now-eta")
    expect(eta).to_have_text(
        re.compile(r"^about \d\d:\d\d CET \(in 3 h 4[45] min\)\s+·\s+[45] min behind plan\s")
    )
    assert "UTC" in (eta.locator("time").get_attribute("title") or "")
    assert not IDENTIFIER.search(header_text(page)), header_text(page)
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "now-header-viewer.png"), full_page=False)

    # The backend engineer ticks the step: the PM's header moves on, pushed live.
    step = Step.objects.get(incident=late_incident, key="disable_new_endpoints")
    in_worker_thread(lambda: services.complete_step(step_id=step.pk, by=backend))

    expect(now.get_by_test_id("now-next")).to_have_text(
        "“Activate maintenance mode”, owned by Frontend engineer (nobody assigned yet).",
        timeout=ROUND_TRIP_MS,
    )
    expect(now.get_by_test_id("now-blockers")).to_contain_text(
        "Nobody holds Frontend engineer, who owns the next step."
    )
    assert not IDENTIFIER.search(header_text(page)), header_text(page)


PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.mark.timeout(60)
def test_the_header_fits_a_phone(incident_page, late_incident, viewer):
    page = incident_page(viewer, late_incident, **PHONE, **BERLIN)
    now = page.get_by_test_id("now")
    expect(now.get_by_test_id("now-next")).to_contain_text("Backend engineer (backend)")

    box = now.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    overflow = now.evaluate("el => el.scrollWidth - el.clientWidth")
    assert overflow <= 0, overflow  # nothing inside it is wider than the panel
    now.screenshot(path=str(ARTIFACTS / "now-header-viewer-390.png"))
