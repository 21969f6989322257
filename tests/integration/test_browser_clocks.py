"""The phase chart and the clocks in a real browser: ticking, at risk, overrun.

A MIG-002 drill is opened in the test process and made older in the database
(its opening, the phases' planned windows and phase 1's start moved back), as
if it had been running for a while. The incident commander's pages (desktop
and phone) run on uvicorn (config.asgi) with the Redis channel layer: the
clock and the chart's "now" line tick in the browser (static/js/clocks.js);
the state changes (on time -> at risk -> overrun) are announced by
``refresh_clocks`` — what Celery beat runs every 15 s — called here from a
worker thread and pushed through Redis to the pages, which change without a
reload. Screenshots of both pages are saved under test-artifacts/.

Overruns that happened before the page was opened are shown to the IC too
(a banner line per phase, dismissible per phase across reloads), with no
browser notification; only the IC ever sees the banner.
"""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import TypeVar

import pytest
from django.core.management import call_command
from django.db import connections
from django.db.models import F
from playwright.sync_api import Page, expect

from incidents import broadcast, events, services
from incidents.models import Incident, Phase
from incidents.services.phases import refresh_clocks
from runbooks.models import Runbook
from tests.integration.browser import ROUND_TRIP_MS, report, wait_live
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import CHANNEL_PREFIX, REDIS_URL

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

T = TypeVar("T")
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
FIRST_PHASE = "Immediate service preservation"  # MIG-002 phase 1: minutes 0-15
TICK_MS = 3000  # the clocks tick every second; a busy machine may skip one
NOW_LINE_MS = 5000  # a 4-hour chart moves its line 0.1 px (one step) every 2.6 s
NOW_LINE_TOLERANCE = 0.3  # px: about 8 s on the 4-hour chart


# --- set-up ----------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in the test thread.

    Django refuses ORM calls from a thread with a running loop unless told
    (shared/PITFALLS.md). Module scope: the transactional flush after each test
    runs after function fixtures are undone, and needs it too.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _push_from_worker_threads_only(settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """Changes made in a worker thread reach the browsers; set-up in the test thread does not.

    This process talks to the server's channel layer (Redis, this run's prefix), as
    beat's worker would. ``async_to_sync`` cannot run in the Playwright thread
    (shared/PITFALLS.md), so writes made there — the set-up — publish nothing;
    pages opened afterwards read that state from the database.
    """
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


@pytest.fixture
def mig_incident(transactional_db, ic) -> Incident:
    """A MIG-002 drill opened by ic, from the shipped runbook loaded the operators' way."""
    call_command("load_runbooks", stdout=io.StringIO())
    version = Runbook.objects.get(slug="mig-002").current_version
    assert version is not None
    return services.open_incident(
        version=version,
        environment="staging",
        title="MIG-002 rollback drill",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )


def age(incident: Incident, *, minutes: int) -> None:
    """Move the incident's times back, as if it had been opened ``minutes`` earlier."""
    delta = timedelta(minutes=minutes)
    Incident.objects.filter(pk=incident.pk).update(opened_at=F("opened_at") - delta)
    Phase.objects.filter(incident=incident).update(
        planned_start_at=F("planned_start_at") - delta,
        planned_end_at=F("planned_end_at") - delta,
        started_at=F("started_at") - delta,  # NULL (not started) stays NULL
    )


def in_worker_thread(work: Callable[[], T]) -> T:
    """Run ORM work that publishes off the Playwright thread, and close its connection."""

    def run() -> T:
        try:
            return work()
        finally:
            connections.close_all()  # this thread's only

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=30)


def label(title: str) -> str:
    """A phase's row label: long titles are cut to 26 characters (_gantt.html)."""
    return title if len(title) <= 26 else title[:25] + "…"


def now_x(page: Page) -> float:
    return float(page.locator("svg.gantt-svg line.now").get_attribute("x1") or "nan")


def running_bar_end(page: Page) -> float:
    bar = page.locator("svg.gantt-svg rect.actual.running")
    return float(bar.get_attribute("x") or "nan") + float(bar.get_attribute("width") or "nan")


def chart_axis(page: Page) -> tuple[float, float, float, float]:
    """The chart's time axis (incidents.gantt): start, end (epoch s), plot's left x and width."""
    attr = page.locator("svg.gantt-svg").get_attribute
    start = datetime.fromisoformat(attr("data-start") or "").timestamp()
    end = datetime.fromisoformat(attr("data-end") or "").timestamp()
    left = float(attr("data-label-w") or 0)
    width = float(attr("data-width") or 0) - left - float(attr("data-right-pad") or 0)
    return start, end, left, width


def expected_now_x(page: Page) -> float:
    """Where the chart's "now" line belongs at this moment."""
    start, end, left, width = chart_axis(page)
    return left + width * (min(time.time(), end) - start) / (end - start)


# Stands in for the browser's Notification API, permission granted: records what is shown.
NOTIFICATION_SPY = """
window.__notifications = [];
window.Notification = class {
  static permission = "granted";
  static requestPermission() { return Promise.resolve("granted"); }
  constructor(title, options) { window.__notifications.push(options.body); }
};
"""


def spy_on_notifications(page: Page) -> None:
    """For ``before_load``: every browser notification the page shows, in ``notifications``."""
    page.add_init_script(NOTIFICATION_SPY)


def notifications(page: Page) -> list[str]:
    return list(page.evaluate("window.__notifications"))


# --- the tests -------------------------------------------------------------------------


def test_phase_chart_and_clocks_move_and_pushed_states_arrive(
    mig_incident, incident_page, ic, capsys
):
    """The chart has a row per phase and a moving "now" line; the clock ticks and turns.

    Phase 1 (minutes 0-15) has run 14 minutes when the IC opens the page: the
    chart shows four phases, one actual bar, and a "now" line that moves with
    time to where it belongs; the clock's text ticks. The clock still shows the
    last announced state (on time) until ``refresh_clocks`` announces "at
    risk", which both of the IC's pages show without a reload. Two minutes
    later the phase is past its budget: the announced overrun turns the clock
    red, the bar late, the line two minutes further, and shows the IC the
    overrun banner. Each change is announced once, with a timeline entry.
    """
    incident = mig_incident
    first = Phase.objects.get(incident=incident, position=0)
    assert first.title == FIRST_PHASE
    age(incident, minutes=14)  # one minute left of fifteen: at risk, not yet announced

    page = incident_page(ic, incident, before_load=spy_on_notifications)
    phone = incident_page(ic, incident, **PHONE)
    for p in (page, phone):
        p.evaluate("window.__sameDocument = true")  # a reload would wipe this marker
    chart = page.locator("svg.gantt-svg")
    clock = page.locator(f"#phase-clock-{first.pk}")
    clock_text = clock.locator("[data-clock-text]")
    banner = page.locator("#overrun-banner")

    # The chart: four phases against their budgets, one begun.
    expect(chart).to_be_visible()
    titles = Phase.objects.filter(incident=incident).values_list("title", flat=True)
    expect(chart.locator("text.row-label")).to_have_text([label(t) for t in titles])
    expect(chart.locator("rect.planned")).to_have_count(4)
    expect(chart.locator("rect.actual")).to_have_count(1)
    expect(chart.locator("rect.actual.late")).to_have_count(0)
    expect(page.locator("[data-testid=phase-clock][data-state=not_started]")).to_have_count(3)

    # The clock ticks in the browser ...
    expect(clock).to_have_attribute("data-state", "on_time")  # the last state announced
    expect(clock_text).to_have_text(re.compile(r"^14:\d\d elapsed · [01]:\d\d left$"))
    shown = clock_text.text_content() or ""
    expect(clock_text).not_to_have_text(shown, timeout=TICK_MS)
    # ... and so does the chart's "now" line, to where it belongs.
    x = now_x(page)
    expect(chart.locator("line.now")).not_to_have_attribute("x1", f"{x:.1f}", timeout=NOW_LINE_MS)
    assert now_x(page) > x
    assert abs(now_x(page) - expected_now_x(page)) < NOW_LINE_TOLERANCE
    report(capsys, f"now line moved from x={x:.1f} to x={now_x(page):.1f} without a push")

    # Half a minute on, still with nothing pushed (a phase can stay "on time" for half
    # an hour): the browser alone moves the line, and the running phase's bar reaches
    # it, as its title says ("actual 05:11-now"). This page's clock is fast-forwarded.
    later = incident_page(ic, incident, before_load=lambda p: p.clock.install())
    x = now_x(later)
    later.clock.fast_forward("00:30")
    expect(later.locator("svg.gantt-svg line.now")).not_to_have_attribute("x1", f"{x:.1f}")
    start, end, _, width = chart_axis(later)
    assert abs(now_x(later) - x - width * 30 / (end - start)) < NOW_LINE_TOLERANCE
    assert abs(running_bar_end(later) - now_x(later)) <= 0.15
    expect(later.locator(f"#phase-clock-{first.pk} [data-clock-text]")).to_have_text(
        re.compile(r"^14:[3-5]\d elapsed · 0:[0-2]\d left$")
    )

    # At risk, announced: both pages turn without a reload; no banner yet.
    assert in_worker_thread(refresh_clocks) == [(first.pk, "at_risk")]
    for p in (page, phone):
        expect(p.locator(f"#phase-clock-{first.pk}")).to_have_attribute(
            "data-state", "at_risk", timeout=ROUND_TRIP_MS
        )
    expect(clock.locator(".clock-state")).to_have_text("At risk")
    expect(page.locator(f"#timeline-{incident.pk} > li")).to_contain_text(
        [re.compile(f"{FIRST_PHASE} at risk: [01] min left of its budget")]
    )
    expect(banner).to_be_hidden()

    # Two minutes on, phase 1 is past its fifteen: overrun, announced.
    age(incident, minutes=2)
    x_at_risk = now_x(page)
    assert in_worker_thread(refresh_clocks) == [(first.pk, "overrun")]
    for p in (page, phone):
        expect(p.locator(f"#phase-clock-{first.pk}")).to_have_attribute(
            "data-state", "overrun", timeout=ROUND_TRIP_MS
        )
        expect(p.locator("#overrun-banner")).to_be_visible()
        expect(p.locator("#overrun-banner .overrun-text")).to_have_text(
            [f"{FIRST_PHASE} is past its time budget."]
        )
    expect(clock.locator(".clock-state")).to_have_text("Overrun")
    expect(clock_text).to_have_text(re.compile(r"^1[67]:\d\d elapsed · over by [12]:\d\d$"))
    expect(chart.locator("rect.actual.late")).to_have_count(1)
    expect(page.locator(f"#timeline-{incident.pk} > li").first).to_contain_text(
        f"{FIRST_PHASE} overrun: its budget ended 1 min ago"
    )
    # The re-rendered chart starts two minutes earlier: its line jumped two minutes on.
    assert abs(now_x(page) - expected_now_x(page)) < NOW_LINE_TOLERANCE
    start, end, _, width = chart_axis(page)
    two_minutes = width * 120 / (end - start)
    assert abs(now_x(page) - x_at_risk - two_minutes) < NOW_LINE_TOLERANCE
    assert in_worker_thread(refresh_clocks) == []  # each change is announced once
    for p in (page, phone):
        assert p.evaluate("window.__sameDocument") is True  # no reload happened
    # Seen turning while the page was open: the one overrun that notifies.
    assert notifications(page) == [f"{FIRST_PHASE} is past its time budget."]

    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the IC's page is {width}px wide on a 390px phone"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "phase-clocks.png", full_page=True)
    phone.screenshot(path=ARTIFACTS / "phase-clocks-phone.png")


def test_overruns_already_there_at_load_show_the_ic_a_banner_and_no_one_else(
    mig_incident, incident_page, ic, backend, viewer
):
    """The IC who opens the page late sees every overrun; dismissed stays dismissed.

    An hour in, phase 1 (minutes 0-15) is still running and phase 2 (15-60) never
    began: both are past their budgets, announced before anyone opened the page.
    The IC's page shows a banner line for each, but no browser notification (those
    are for overruns seen happening). A dismissed line stays dismissed for that
    phase after a reload; the other stays. The responder and the viewer see the
    clocks overrun and no banner.
    """
    incident = mig_incident
    first, second = Phase.objects.filter(incident=incident, position__in=[0, 1])
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    age(incident, minutes=61)
    assert refresh_clocks() == [(first.pk, "overrun"), (second.pk, "overrun")]

    page = incident_page(ic, incident, before_load=spy_on_notifications)
    banner = page.locator("#overrun-banner")
    lines = banner.locator(".overrun-text")
    expect(banner).to_be_visible()
    expect(lines).to_have_text(
        [f"{first.title} is past its time budget.", f"{second.title} is past its time budget."]
    )
    assert notifications(page) == []  # there before the page: no notification
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=ARTIFACTS / "overrun-at-load.png")

    banner.get_by_role("button", name=f"Dismiss: {first.title} is past its time budget.").click()
    expect(lines).to_have_text([f"{second.title} is past its time budget."])
    key = f"ripcord.overrun-dismissed.{incident.pk}.{first.pk}"
    assert page.evaluate("(key) => localStorage.getItem(key)", key) == "1"

    page.reload()
    wait_live(page)
    expect(lines).to_have_text([f"{second.title} is past its time budget."])
    banner.get_by_role("button", name=f"Dismiss: {second.title} is past its time budget.").click()
    expect(banner).to_be_hidden()
    page.reload()
    wait_live(page)
    expect(page.locator(f"#phase-clock-{first.pk}")).to_have_attribute("data-state", "overrun")
    expect(banner).to_be_hidden()
    assert notifications(page) == []  # a reload repeats nothing

    for who in (backend, viewer):
        other = incident_page(who, incident, before_load=spy_on_notifications)
        for phase in (first, second):
            expect(other.locator(f"#phase-clock-{phase.pk}")).to_have_attribute(
                "data-state", "overrun"
            )
        expect(other.locator("#overrun-banner")).to_be_hidden()
        assert notifications(other) == []
