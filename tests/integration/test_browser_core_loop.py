"""The core loop in real browsers: open, assign, tick, watch it land everywhere.

Every test drives headless Chromium against a real uvicorn (config.asgi, Redis
channel layer) on the committed test database, one browser context per person:
the incident commander (``ic``), the backend engineer (``backend``), the system
administrator (``sysadmin``) and the product manager (``viewer``, read-only).
Nothing here sleeps: Playwright's ``expect`` waits, with an explicit budget
wherever something is on its way (a response, a push, a reconnect); checks of a
page that has settled keep Playwright's 5 s default.

Measurements (push latency, catch-up time, who won the race) are printed past
pytest's capture, so they show in a plain ``-q`` run.
"""

from __future__ import annotations

import io
import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.management import call_command
from django.urls import reverse
from playwright.sync_api import Locator, Page, WebSocketRoute, expect

from common.tokens import create_token
from incidents import broadcast, services
from incidents.models import Incident, Phase, RoleAssignment, Step, TimelineEntry
from runbooks.models import Runbook, RunbookVersion
from tests.integration.browser import step_card, wait_live
from tests.integration.http import ApiClient
from tests.integration.processes import ROOT

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

ARTIFACTS = ROOT / "test-artifacts"
PUSH_BUDGET_MS = 1000  # a tick must reach the other people's pages within this
CATCH_UP_MS = 5000  # a page whose socket comes back must be current again within this
ROUND_TRIP_MS = 5000  # a request, its response applied (or a push), on a busy machine
QUICK_MS = 500  # for states that hold already: a failing check gives up soon
LOAD_MS = 10_000  # page load + socket open + first resync on a busy CI machine
# live.js retries after min(5 s, 250 ms * 2^attempt), jittered by up to +25 %.
MAX_BACKOFF_MS = 6250
RECONNECT_MS = MAX_BACKOFF_MS + CATCH_UP_MS  # a page whose network is back must be current

OWN_STEP = "Disable new endpoints"  # backend_engineer, requires nothing
SYSADMIN_STEP = "Update schema"  # a manual step of the system administrator


# --- set-up ----------------------------------------------------------------------


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop running in the test thread.

    Django refuses ORM calls from a thread with a running loop unless told
    (shared/PITFALLS.md). Module scope, not function scope: the transactional
    flush after each test runs after function fixtures are undone, and needs it too.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Writes the test makes itself (set-up) publish nothing from this process.

    This process has the in-memory channel layer, which no browser hears, and
    ``async_to_sync`` cannot run in the Playwright thread anyway. Pages opened
    afterwards read that state from the database; everything under test is
    written by the server, whose pushes go through Redis.
    """
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)


@pytest.fixture
def mig002(transactional_db) -> RunbookVersion:
    """The shipped MIG-002 runbook, loaded the way operators load it."""
    call_command("load_runbooks", stdout=io.StringIO())
    version = Runbook.objects.get(slug="mig-002").current_version
    assert version is not None
    return version


@pytest.fixture
def mig_incident(mig002, ic, backend, sysadmin) -> Incident:
    """A MIG-002 drill on staging: ic commands, backend and sysadmin hold their roles."""
    incident = services.open_incident(
        version=mig002,
        environment="staging",
        title="MIG-002 rollback drill",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    for role, user in (("backend_engineer", backend), ("system_administrator", sysadmin)):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=user.pk, by=ic)
    return incident


# open_page and incident_page come from tests/integration/conftest.py.


def timeline_entries(page: Page, incident: Incident, text: str) -> Locator:
    return page.locator(f"#timeline-{incident.pk} > li").filter(has_text=text)


def step_of(incident: Incident, title: str) -> Step:
    return Step.objects.get(incident=incident, title=title)


def report(capsys: pytest.CaptureFixture[str], line: str) -> None:
    """Print past pytest's capture, so the measurements show in a plain ``-q`` run."""
    with capsys.disabled():
        print(f"\n    {line}")


def done_entries(step: Step) -> int:
    return TimelineEntry.objects.filter(step=step, kind=TimelineEntry.Kind.STEP_DONE).count()


# Records, in the page, the wall-clock moment (ms) a step first shows a state;
# Python and Chromium read the same system clock, so the test can subtract.
ARRIVAL_PROBE = """([selector, state]) => {
  window.__arrivedAt = null;
  const check = () => {
    const el = document.querySelector(selector);
    if (window.__arrivedAt === null && el && el.dataset.state === state) window.__arrivedAt = Date.now();
  };
  new MutationObserver(check).observe(document.body, {subtree: true, childList: true, attributes: true});
}"""

# Clicks at an agreed wall-clock moment, so two pages click (nearly) together.
CLICK_AT = """([selector, at]) => {
  setTimeout(() => document.querySelector(selector).click(), Math.max(0, at - Date.now()));
}"""


# --- the tests ----------------------------------------------------------------------


def test_ic_opens_incident_and_assigns_roles(
    mig002, open_page, incident_page, ic, backend, sysadmin
):
    """The IC opens a MIG-002 drill through the "Open incident" form and staffs it.

    Environment, title, severity and the drill flag chosen in the form are what
    the incident gets; the IC lands on its page, puts backend on "Backend
    engineer" and sysadmin on "System administrator" through the roles panel,
    sees both holders appear without a reload, and has the form to hand over
    command. The engineer, already on the page, gets the controls of his steps
    the moment he is assigned, without a reload.
    """
    page = open_page(ic, "/")
    page.get_by_role("link", name="Open incident").click()
    expect(page).to_have_url(re.compile(r"/incidents/new/$"))
    # MIG-002 is the only runbook loaded, so it is preselected; re-selecting it
    # would race the environment <select> that htmx swaps in on change.
    expect(page.get_by_label("Runbook")).to_contain_text("MIG-002")
    page.get_by_label("Environment").select_option("staging")
    page.get_by_label("Title").fill("MIG-002: UUID ids break task lists")
    page.get_by_label("Severity").select_option("sev1")
    page.get_by_label("This is a drill").check()
    page.get_by_role("button", name="Open incident").click()

    expect(page).to_have_url(re.compile(r"/incidents/\d+/$"))
    incident = Incident.objects.get()
    assert page.url.endswith(reverse("incidents:detail", args=[incident.pk]))
    assert (incident.environment, incident.severity, incident.is_drill) == ("staging", "sev1", True)
    assert incident.runbook_version == mig002
    expect(page.get_by_role("heading", level=1)).to_have_text("MIG-002: UUID ids break task lists")
    expect(page.locator(".badges .drill")).to_have_text("Drill")
    expect(page.locator(".badges .env")).to_have_text("staging")
    wait_live(page)

    eng_page = incident_page(backend, incident)
    eng_tick = step_card(eng_page, OWN_STEP).get_by_role("button", name="Done")
    expect(eng_tick).to_be_hidden()  # a responder without a role acts on nothing

    roles = page.locator(f"#roles-{incident.pk}")
    expect(roles.get_by_test_id("holder-incident_commander")).to_contain_text("ic")
    for title, user, key in (
        ("Backend engineer", backend, "backend_engineer"),
        ("System administrator", sysadmin, "system_administrator"),
    ):
        role = roles.locator("li.role").filter(has=page.get_by_text(title, exact=True))
        role.get_by_label(f"Person for {title}").select_option(label=user.username)
        role.get_by_role("button", name="Assign").click()
        # The panel is swapped from the response; wait for it before the next form.
        expect(roles.get_by_test_id(f"holder-{key}")).to_contain_text(
            user.username, timeout=ROUND_TRIP_MS
        )

    assert set(
        RoleAssignment.objects.filter(incident=incident).values_list("role__key", "user__username")
    ) == {
        ("incident_commander", "ic"),
        ("backend_engineer", "backend"),
        ("system_administrator", "sysadmin"),
    }
    handover = roles.locator("li.role-incident_commander form.assign")
    expect(handover.get_by_label("Person for Incident commander")).to_be_visible()
    expect(handover.get_by_role("button", name="Hand over")).to_be_visible()

    expect(eng_page.get_by_test_id("holder-backend_engineer")).to_contain_text("backend")
    expect(eng_tick).to_be_visible(timeout=ROUND_TRIP_MS)
    expect(eng_page.locator(f"#roles-{incident.pk} form.assign").first).to_be_hidden()


def test_tick_reaches_ic_and_pm_without_reload(
    mig_incident, incident_page, ic, backend, viewer, capsys
):
    """The engineer ticks his step; the IC's and the PM's pages show it within a second.

    No page reloads: the change arrives over the websocket. Measured from the
    moment the engineer's click returns to the moment each page's step shows
    "done" (recorded in the page). The timeline entry and the phase and overall
    progress update on both pages too.
    """
    ic_page = incident_page(ic, mig_incident)
    pm_page = incident_page(viewer, mig_incident)
    eng_page = incident_page(backend, mig_incident)
    step = step_of(mig_incident, OWN_STEP)
    phase = Phase.objects.get(pk=step.phase_id)
    phase_total = phase.steps.count()
    total = mig_incident.steps.count()
    for page in (ic_page, pm_page):
        expect(step_card(page, OWN_STEP)).to_have_attribute("data-state", "pending")
        page.evaluate(ARRIVAL_PROBE, [f"#step-{step.pk}", "done"])
        # A reload would wipe this marker.
        page.evaluate("window.__sameDocument = true")

    step_card(eng_page, OWN_STEP).get_by_role("button", name="Done").click()
    clicked_ms = time.time() * 1000

    for page in (pm_page, ic_page):
        expect(step_card(page, OWN_STEP)).to_have_attribute(
            "data-state", "done", timeout=PUSH_BUDGET_MS
        )
    latency = {
        who: page.evaluate("window.__arrivedAt") - clicked_ms
        for who, page in (("PM", pm_page), ("IC", ic_page))
    }
    report(
        capsys,
        f"engineer's click -> step shown done: PM {latency['PM']:.0f} ms,"
        f" IC {latency['IC']:.0f} ms (budget {PUSH_BUDGET_MS} ms)",
    )
    assert all(ms <= PUSH_BUDGET_MS for ms in latency.values()), latency

    for page in (ic_page, pm_page):
        assert page.evaluate("window.__sameDocument") is True  # no reload happened
        expect(step_card(page, OWN_STEP).get_by_test_id("step-outcome")).to_contain_text(
            "Done by backend"
        )
        expect(timeline_entries(page, mig_incident, f"Done: {OWN_STEP}")).to_have_count(1)
        expect(page.locator(f"#phase-progress-{phase.pk} .count")).to_have_text(
            f"1 / {phase_total}"
        )
        expect(page.get_by_test_id("overall-progress")).to_have_text(f"1 / {total} steps")
    expect(step_card(eng_page, OWN_STEP)).to_have_attribute("data-state", "done")

    ARTIFACTS.mkdir(exist_ok=True)
    ic_page.screenshot(path=ARTIFACTS / "core-loop-ic.png", full_page=True)


def test_pm_sees_no_controls_and_cannot_forge_a_tick(
    mig_incident, incident_page, ic, backend, viewer
):
    """The PM's page is read-only, and the server refuses his forged write anyway.

    The PM sees no controls (no htmx POST element, no Done/Skip, no note form)
    and no step commands. A POST to step_complete from his session with a valid
    CSRF token is refused with 403 and the step stays pending. The engineer sees
    controls only for his own role's steps; the IC sees them for every step.
    """
    ic_page = incident_page(ic, mig_incident)
    eng_page = incident_page(backend, mig_incident)
    pm_page = incident_page(viewer, mig_incident)

    # What the PM must not see is really on the page for the IC (not a vacuous check).
    expect(ic_page.locator(".step-command").first).to_be_visible()
    expect(ic_page.get_by_role("button", name="Done").first).to_be_visible()
    expect(pm_page.locator("article.step").first).to_be_visible()
    # Visible ones: the communications send buttons are on every page, shown only to the
    # holders of each item's owner role (this PM holds none here).
    expect(pm_page.locator("[hx-post]:visible")).to_have_count(0)
    expect(pm_page.get_by_role("button", name="Done")).to_have_count(0)
    expect(pm_page.get_by_text("Skip…")).to_have_count(0)
    expect(pm_page.get_by_role("button", name="Skip step")).to_have_count(0)
    expect(pm_page.locator(".note-form, textarea[name=text]")).to_have_count(0)
    expect(pm_page.locator(".step-command")).to_have_count(0)
    expect(pm_page.get_by_text("Read-only view")).to_be_visible()

    step = step_of(mig_incident, OWN_STEP)
    url = pm_page.url.split("/incidents/")[0] + reverse(
        "incidents:step_complete", args=[mig_incident.pk, step.pk]
    )

    def forged_tick(page: Page) -> tuple[int, str]:
        token = json.loads(page.locator("body").get_attribute("hx-headers") or "{}")
        response = page.request.post(
            url, headers={"X-CSRFToken": token["X-CSRFToken"], "HX-Request": "true"}
        )
        return response.status, response.text()

    status, text = forged_tick(pm_page)
    assert status == 403
    assert "CSRF" not in text  # refused by the rule, not by a broken token
    step.refresh_from_db()
    assert step.state == Step.State.PENDING
    assert done_entries(step) == 0
    expect(step_card(pm_page, OWN_STEP)).to_have_attribute("data-state", "pending")

    # Controls follow the person: backend's own step yes, the sysadmin's no; the IC both.
    expect(step_card(eng_page, OWN_STEP).get_by_role("button", name="Done")).to_be_visible()
    expect(step_card(eng_page, SYSADMIN_STEP).get_by_role("button", name="Done")).to_be_hidden()
    expect(step_card(eng_page, SYSADMIN_STEP).get_by_text("Skip…")).to_be_hidden()
    expect(step_card(ic_page, SYSADMIN_STEP).get_by_role("button", name="Done")).to_be_visible()
    expect(step_card(ic_page, OWN_STEP).get_by_role("button", name="Done")).to_be_visible()

    # The same request from the step's owner passes: the 403 above was the rule.
    status, _ = forged_tick(eng_page)
    assert status == 200
    step.refresh_from_db()
    assert step.state == Step.State.DONE


def test_dropped_socket_catches_up_on_reconnect(
    mig_incident, incident_page, ic, backend, viewer, capsys
):
    """A page that lost its socket shows what happened meanwhile once it is back.

    The PM's socket is held closed; the engineer ticks a step and adds a note.
    The IC (connected) sees both, the PM's page still shows the old state. When
    the socket is released, the PM's page fetches its panels again and shows the
    step done and the note, without a reload, and is live again.
    """
    ic_page = incident_page(ic, mig_incident)
    pm_page = incident_page(viewer, mig_incident)
    eng_page = incident_page(backend, mig_incident)
    note = "v1 endpoints answer 503 now; watching error rate"
    pm_page.evaluate("window.__sameDocument = true")

    pm_page.evaluate("window.ripcord.hold()")
    expect(pm_page.locator("body")).to_have_attribute("data-live", "offline", timeout=QUICK_MS)

    step_card(eng_page, OWN_STEP).get_by_role("button", name="Done").click()
    expect(step_card(eng_page, OWN_STEP)).to_have_attribute(
        "data-state", "done", timeout=ROUND_TRIP_MS
    )
    eng_page.get_by_label("Add to the timeline").fill(note)
    eng_page.get_by_role("button", name="Add note").click()
    expect(timeline_entries(eng_page, mig_incident, note)).to_have_count(1, timeout=ROUND_TRIP_MS)

    # The pushes went out: the connected IC has them ...
    expect(step_card(ic_page, OWN_STEP)).to_have_attribute(
        "data-state", "done", timeout=ROUND_TRIP_MS
    )
    expect(timeline_entries(ic_page, mig_incident, note)).to_have_count(1, timeout=ROUND_TRIP_MS)
    # ... and the offline PM missed them.
    expect(step_card(pm_page, OWN_STEP)).to_have_attribute(
        "data-state", "pending", timeout=QUICK_MS
    )
    expect(timeline_entries(pm_page, mig_incident, note)).to_have_count(0, timeout=QUICK_MS)
    expect(pm_page.locator("body")).to_have_attribute("data-live", "offline", timeout=QUICK_MS)

    released_ms = time.time() * 1000
    pm_page.evaluate("window.ripcord.release()")
    expect(step_card(pm_page, OWN_STEP)).to_have_attribute(
        "data-state", "done", timeout=CATCH_UP_MS
    )
    expect(timeline_entries(pm_page, mig_incident, note)).to_have_count(1, timeout=CATCH_UP_MS)
    expect(timeline_entries(pm_page, mig_incident, f"Done: {OWN_STEP}")).to_have_count(1)
    wait_live(pm_page, timeout=CATCH_UP_MS)
    report(
        capsys, f"socket released -> PM page caught up: {time.time() * 1000 - released_ms:.0f} ms"
    )
    assert pm_page.evaluate("window.__sameDocument") is True  # no reload happened


class FlakyNetwork:
    """Stands between one page and the server's websocket (a Playwright WebSocket route).

    While up, each socket the page opens is connected to the real server and
    passes every frame through. ``drop()`` closes the server side of the open
    socket, so the page sees a close it never asked for (code 1005, no status,
    as when a proxy or the server goes away), and from then until ``restore()``
    every new attempt is refused (1006, abnormal closure: nothing answered). The
    retries are the page's own (static/js/live.js), with its backoff.
    """

    def __init__(self) -> None:
        self.attempts = 0
        self.refused = 0
        self.is_down = False
        self._servers: list[WebSocketRoute] = []

    def attach(self, page: Page) -> None:
        """For ``open_page(before_load=...)``: route the page's incident socket through here."""
        page.route_web_socket(re.compile(r"/ws/incidents/\d+/$"), self._route)

    def _route(self, socket: WebSocketRoute) -> None:
        self.attempts += 1
        if self.is_down:
            self.refused += 1
            socket.close(code=1006, reason="unreachable")
            return
        self._servers.append(socket.connect_to_server())

    def drop(self) -> None:
        self.is_down = True
        self._servers[-1].close()

    def restore(self) -> None:
        self.is_down = False


def wait_until(page: Page, condition: Callable[[], bool], what: str, timeout_ms: float) -> None:
    """Wait for something only Python sees (a route handler's count), checking as it goes.

    Route handlers run only while this thread is inside a Playwright call, so the
    wait is made of short Playwright waits, with the condition checked between them.
    """
    deadline = time.monotonic() + timeout_ms / 1000
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what} after {timeout_ms:.0f} ms")
        page.wait_for_timeout(20)


def test_dropped_socket_reconnects_by_itself_and_catches_up(
    mig_incident, asgi_server, incident_page, ic, backend, viewer, capsys
):
    """The PM's socket drops without his page asking; it comes back alone and catches up.

    The server side of the socket closes (not ``ripcord.hold()``: the page's own
    code never asked), and the page's retries are refused for a while. Meanwhile
    the engineer ticks his step and adds a note through the API; the connected
    IC sees both pushed, the PM's page does not. Once the network is back, the
    PM's page reconnects by itself (live.js's backoff, no reload, no call from
    the test) and shows the step done and the note within the bound: the longest
    backoff delay plus the catch-up budget.
    """
    ic_page = incident_page(ic, mig_incident)
    network = FlakyNetwork()
    pm_page = incident_page(viewer, mig_incident, before_load=network.attach)
    pm_page.evaluate("window.__sameDocument = true")
    assert network.attempts == 1
    step = step_of(mig_incident, OWN_STEP)
    note = "v1 endpoints answer 503 now; watching error rate"

    network.drop()
    expect(pm_page.locator("body")).to_have_attribute(
        "data-live", "reconnecting", timeout=ROUND_TRIP_MS
    )

    api = ApiClient(asgi_server.url, create_token(backend, "reconnect test")[1])
    path = f"/incidents/{mig_incident.pk}"
    assert api.post(f"{path}/steps/{step.pk}/complete").status_code == 200
    assert api.post(f"{path}/timeline", {"text": note}).status_code == 201
    # The changes went out: the connected IC has them ...
    expect(step_card(ic_page, OWN_STEP)).to_have_attribute(
        "data-state", "done", timeout=ROUND_TRIP_MS
    )
    expect(timeline_entries(ic_page, mig_incident, note)).to_have_count(1, timeout=ROUND_TRIP_MS)
    # ... the PM's page tried again by itself, was refused, and still shows the old state.
    wait_until(pm_page, lambda: network.refused >= 1, "a refused reconnect", ROUND_TRIP_MS)
    expect(step_card(pm_page, OWN_STEP)).to_have_attribute(
        "data-state", "pending", timeout=QUICK_MS
    )
    expect(timeline_entries(pm_page, mig_incident, note)).to_have_count(0, timeout=QUICK_MS)
    expect(pm_page.locator("body")).to_have_attribute("data-live", "reconnecting")

    restored_ms = time.time() * 1000
    network.restore()
    expect(step_card(pm_page, OWN_STEP)).to_have_attribute(
        "data-state", "done", timeout=RECONNECT_MS
    )
    expect(timeline_entries(pm_page, mig_incident, note)).to_have_count(1, timeout=CATCH_UP_MS)
    expect(timeline_entries(pm_page, mig_incident, f"Done: {OWN_STEP}")).to_have_count(1)
    wait_live(pm_page, timeout=CATCH_UP_MS)
    report(
        capsys,
        f"network back -> PM page reconnected and caught up: "
        f"{time.time() * 1000 - restored_ms:.0f} ms, after {network.refused} refused attempt(s)"
        f" (bound {RECONNECT_MS} ms)",
    )
    assert network.attempts == network.refused + 2  # the first socket, then the one that held
    assert pm_page.evaluate("window.__sameDocument") is True  # no reload happened


def test_simultaneous_done_records_one_tick(
    mig_incident, incident_page, ic, backend, viewer, capsys
):
    """The IC and the engineer click "Done" on the same step at the same moment.

    Both pages schedule the click for the same wall-clock instant before the test
    waits for anything. Exactly one "Done: …" entry exists, in the database and
    on every page; the loser is told "Already done by …" in the response, and
    his page shows the step done.
    """
    ic_page = incident_page(ic, mig_incident)
    eng_page = incident_page(backend, mig_incident)
    pm_page = incident_page(viewer, mig_incident)
    step = step_of(mig_incident, OWN_STEP)
    path = reverse("incidents:step_complete", args=[mig_incident.pk, step.pk])
    tick = f"#step-{step.pk} [data-testid=tick]"
    for page in (ic_page, eng_page):
        expect(page.locator(tick)).to_be_visible()

    def is_tick(response: Any) -> bool:
        return bool(response.url.endswith(path) and response.request.method == "POST")

    with (
        ic_page.expect_response(is_tick, timeout=ROUND_TRIP_MS) as ic_info,
        eng_page.expect_response(is_tick, timeout=ROUND_TRIP_MS) as eng_info,
    ):
        at = time.time() * 1000 + 200
        ic_page.evaluate(CLICK_AT, [tick, at])
        eng_page.evaluate(CLICK_AT, [tick, at])
    answers = {"ic": ic_info.value, "backend": eng_info.value}
    assert {r.status for r in answers.values()} == {200}

    assert done_entries(step) == 1
    step.refresh_from_db()
    assert step.state == Step.State.DONE
    assert step.state_changed_by is not None
    winner = step.state_changed_by.username
    (loser,) = set(answers) - {winner}
    assert f"Already done by {winner}" in answers[loser].text()
    report(capsys, f"simultaneous Done: {winner} won, {loser} was told 'Already done by {winner}'")

    loser_page = ic_page if loser == "ic" else eng_page
    expect(step_card(loser_page, OWN_STEP)).to_have_attribute(
        "data-state", "done", timeout=ROUND_TRIP_MS
    )
    for page in (ic_page, eng_page, pm_page):
        expect(step_card(page, OWN_STEP)).to_have_attribute(
            "data-state", "done", timeout=ROUND_TRIP_MS
        )
        expect(step_card(page, OWN_STEP).get_by_test_id("step-outcome")).to_contain_text(
            f"Done by {winner}"
        )
        expect(timeline_entries(page, mig_incident, f"Done: {OWN_STEP}")).to_have_count(
            1, timeout=ROUND_TRIP_MS
        )
    assert done_entries(step) == 1
    # Whether the loser still reads the refusal depends on which of his response and
    # the winner's push (same revision) was applied last; both show the step done.
    shown = step_card(loser_page, OWN_STEP).locator(".error").all_text_contents()
    report(
        capsys, f"{loser}'s page says: {shown[0] if shown else '(no message; push applied last)'}"
    )


def test_my_steps_filter_and_phone_layout(mig_incident, incident_page, ic, backend, viewer):
    """The "My steps" filter shows the engineer his role's steps; a phone never scrolls sideways.

    On a 390 x 844 viewport the incident page is no wider than the screen for the
    IC (every control), the engineer and the PM.
    """
    eng_page = incident_page(backend, mig_incident)
    own = eng_page.locator("article.step.owner-backend_engineer")
    others = eng_page.locator("article.step:not(.owner-backend_engineer)")
    n_own = mig_incident.steps.filter(owner_role="backend_engineer").count()
    assert 0 < n_own < mig_incident.steps.count()
    expect(step_card(eng_page, SYSADMIN_STEP)).to_be_visible()

    toggle = eng_page.get_by_role("button", name="My steps")
    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "true")
    expect(step_card(eng_page, SYSADMIN_STEP)).to_be_hidden()
    expect(step_card(eng_page, OWN_STEP)).to_be_visible()
    expect(eng_page.locator("article.step:visible")).to_have_count(n_own)
    for i in range(n_own):
        expect(own.nth(i)).to_be_visible()
    expect(others.filter(visible=True)).to_have_count(0)

    toggle.click()
    expect(toggle).to_have_attribute("aria-pressed", "false")
    expect(step_card(eng_page, SYSADMIN_STEP)).to_be_visible()

    phone = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
    for who in (ic, backend, viewer):
        page = incident_page(who, mig_incident, **phone)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{who.username}: page is {width}px wide on a 390px phone"
        if who == ic:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / "core-loop-phone-ic.png")
