"""Everyday conventions in a real browser: notes, times, a form sent twice, shortcuts.

Each test drives Chromium against the real uvicorn server on the test database:
notes keep their line breaks and show HTML as text (no script runs); an empty note
is refused at the form; times are local with a date, UTC on hover, and "… ago"
ticks; the open form sent twice (double click, then back and send again) opens one
incident; "?" lists the keyboard shortcuts, which work.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Dialog, Page, expect

from incidents import broadcast, services
from incidents.models import Incident, TimelineEntry
from runbooks.models import Runbook, RunbookVersion
from tests.integration.browser import ROUND_TRIP_MS, OpenPage, step_card
from tests.integration.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

TOKYO = {"timezone_id": "Asia/Tokyo", "locale": "en-GB"}


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright(django_db_setup) -> Iterator[None]:
    # django_db_setup first: the test database exists before Playwright's loop starts.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set-up writes here publish nothing (the server's own writes push through Redis)."""
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)


@pytest.fixture
def mig002(transactional_db) -> RunbookVersion:
    call_command("load_runbooks", stdout=io.StringIO())
    version = Runbook.objects.get(slug="mig-002").current_version
    assert version is not None
    return version


@pytest.fixture
def mig_incident(mig002, ic, backend) -> Incident:
    incident = services.open_incident(
        version=mig002,
        environment="staging",
        title="MIG-002 rollback drill",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    return incident


def no_dialogs(page: Page) -> list[str]:
    """Every alert/confirm the page opens (a script injected by a note would open one)."""
    opened: list[str] = []

    def on_dialog(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", on_dialog)
    return opened


def add_note(page: Page, text: str) -> None:
    page.locator(".note-form textarea").fill(text)
    page.get_by_role("button", name="Add note").click()


# --- notes ------------------------------------------------------------------------


@pytest.mark.timeout(90)
def test_notes_keep_line_breaks_show_html_as_text_and_link_addresses(
    incident_page, mig_incident, backend, viewer
):
    page = incident_page(backend, mig_incident)
    dialogs = no_dialogs(page)
    note = (
        "Restore is slow:\n"
        "pg_restore at 40%\n"
        "<script>alert('xss')</script>\n"
        '<img src=x onerror="alert(1)">\n'
        "graph: https://grafana.example.com/d/db"
    )
    add_note(page, note)

    entry = page.locator(f"#timeline-{mig_incident.pk} > li.tl-note").first
    expect(entry).to_be_visible(timeout=ROUND_TRIP_MS)
    text = entry.locator(".note-text")
    # Line breaks kept: each line of the note is a line on screen.
    lines = text.inner_text().splitlines()
    assert lines[:4] == [
        "Restore is slow:",
        "pg_restore at 40%",
        "<script>alert('xss')</script>",
        '<img src=x onerror="alert(1)">',
    ], lines
    assert text.locator("script, img").count() == 0
    link = text.get_by_role("link", name="https://grafana.example.com/d/db")
    expect(link).to_have_attribute("href", "https://grafana.example.com/d/db")
    expect(link).to_have_attribute("rel", "noopener noreferrer nofollow")

    # The PM's page, loaded afresh, shows the same text, and nothing ran anywhere.
    pm = incident_page(viewer, mig_incident)
    pm_dialogs = no_dialogs(pm)
    pm_text = pm.locator(f"#timeline-{mig_incident.pk} > li.tl-note .note-text").first
    expect(pm_text).to_contain_text("<script>alert('xss')</script>")
    pm.wait_for_timeout(300)  # an onerror would have fired by now; nothing to wait for
    assert dialogs == [] and pm_dialogs == []
    ARTIFACTS.mkdir(exist_ok=True)
    entry.screenshot(path=str(ARTIFACTS / "note-markdown.png"))


@pytest.mark.timeout(60)
def test_an_empty_note_is_refused_with_a_message_at_the_form(incident_page, mig_incident, backend):
    page = incident_page(backend, mig_incident)
    before = TimelineEntry.objects.filter(incident=mig_incident).count()

    add_note(page, "   \n  ")

    form = page.locator(".note-form")
    # The refusal beside the control (controls.js) carries a dismiss button after its words.
    expect(form.get_by_role("alert")).to_contain_text(
        "Write something first: an empty note is not added.", timeout=ROUND_TRIP_MS
    )
    expect(form.locator("textarea")).to_have_attribute("aria-invalid", "true")
    assert TimelineEntry.objects.filter(incident=mig_incident).count() == before


# --- times ------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_times_are_local_with_dates_utc_on_hover_and_ticking_relative(
    incident_page, mig_incident, backend
):
    at = timezone.now() - timedelta(seconds=30)
    entry = TimelineEntry.objects.create(
        incident=mig_incident, at=at, actor=backend, kind="note", text="checked the replicas"
    )
    page = incident_page(backend, mig_incident, **TOKYO)
    shown = page.locator(f"#tl-{entry.pk} time")

    tokyo = at.astimezone(timezone.get_fixed_timezone(9 * 60))
    local = f"{tokyo.day} {tokyo:%b}, {tokyo:%H:%M:%S}"  # e.g. "3 Dec, 16:42:07" (en-GB)
    expect(shown.locator(".abs")).to_have_text(local)
    expect(shown).to_have_attribute("title", f"{at:%Y-%m-%d %H:%M:%S} UTC")
    expect(page.locator(".time-legend")).to_contain_text("Asia/Tokyo")
    # "… ago" ticks: it reads some seconds, then more.
    ago = shown.locator(".ago")
    expect(ago).to_have_text(re.compile(r"^ \(\d+ s ago\)$"))
    first = ago.inner_text()
    expect(ago).not_to_have_text(first, timeout=3000)
    # The header's opening time names the zone and the date.
    opened = page.locator(".incident-head time").first
    expect(opened.locator(".abs")).to_have_text(re.compile(r"\d{4}, \d\d:\d\d GMT\+9$"))


# --- a form sent twice ---------------------------------------------------------------


@pytest.mark.timeout(90)
def test_the_open_form_sent_twice_opens_one_incident(open_page: OpenPage, mig002, ic):
    page = open_page(ic, reverse("incidents:open"))
    page.get_by_label("Title").fill("Checkout errors after MIG-002")
    page.get_by_role("button", name="Open incident").dblclick()
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))
    first = page.url

    page.go_back()
    expect(page.get_by_role("button", name="Open incident")).to_be_visible()
    page.get_by_label("Title").fill("Checkout errors after MIG-002")
    page.get_by_role("button", name="Open incident").click()
    page.wait_for_url(re.compile(r"/incidents/\d+/$"))

    assert page.url == first
    expect(page.locator(".messages")).to_contain_text("opened this incident already")
    assert Incident.objects.filter(title="Checkout errors after MIG-002").count() == 1


# --- keyboard shortcuts -----------------------------------------------------------------


@pytest.mark.timeout(60)
def test_question_mark_lists_the_shortcuts_and_they_work(incident_page, mig_incident, backend):
    page = incident_page(backend, mig_incident)

    page.keyboard.press("?")
    help_ = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(help_).to_be_visible()
    for what in ("Next step", "Write a note", "Go to the incident list", "Show or hide this list"):
        expect(help_).to_contain_text(what)
    page.screenshot(path=str(ARTIFACTS / "shortcuts-help.png"))
    page.keyboard.press("Escape")
    expect(help_).to_be_hidden()

    page.keyboard.press("j")
    expect(page.locator("article.step.kbd-focus")).to_have_count(1)
    expect(step_card(page, "Disable new endpoints")).to_have_class(re.compile("kbd-focus"))
    page.keyboard.press("j")
    expect(step_card(page, "Activate maintenance mode")).to_have_class(re.compile("kbd-focus"))

    page.keyboard.press("n")
    expect(page.locator(".note-form textarea")).to_be_focused()
    page.keyboard.type("j")  # typing in a field is typing, not a shortcut
    expect(page.locator(".note-form textarea")).to_have_value("j")

    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("g")
    page.keyboard.press("i")
    page.wait_for_url(re.compile(r"^http://[^/]+/$"))  # the incident list, loaded
    page.keyboard.press("/")
    expect(page.locator("#incident-search")).to_be_focused()
    page.screenshot(path=str(ARTIFACTS / "incident-list.png"))
