"""The incident page fits every screen from a 360 px phone to a 1440 px laptop, light and dark.

A MIG-002 drill in mid-flight: its first phase ended (folded away), a restore running
with a long line in its log box, a finished step, a 4,000-character word in a note and
long unbroken paths in the pre-flight panel, the roles filled (the product manager too).
The incident commander's, an engineer's and the product manager's pages are measured at
360, 390, 768, 1366 and 1440 px: the page never scrolls sideways
(``document.documentElement.scrollWidth`` is at most the window's width), the phase
chart is visible with labels at a readable size (at least 12 px, inside the window),
and the long word and paths stay inside the window. Screenshots of the three pages at
390 and 1366 px, in the light and the dark scheme, are saved in test-artifacts/screens/.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import FloatRect, Page, expect

from incidents import broadcast, services
from incidents.models import Incident, SafeguardCheck, Step, StepRun
from tests.integration.browser import OpenPage
from tests.integration.conftest import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENS = ARTIFACTS / "screens"
WIDTHS = (360, 390, 768, 1366, 1440)
SCREENSHOT_WIDTHS = (390, 1366)
LONG_WORD = "x" * 4000
LONG_PATH = (
    "/var/lib/ripcord/backups/todo_demo/2026-12-03T07-00-00Z/"
    "pre-migration-MIG-002-full-cluster-dump-with-sequences-and-large-objects.dump"
)
MIN_LABEL_PX = 12


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop in the test thread (shared/PITFALLS.md)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """The scene is written here, before any page opens: nothing to push."""
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)


@pytest.fixture
def scene(mig002: Incident, ic, backend, sysadmin, viewer) -> Incident:
    incident = mig002
    for role, user in (
        ("backend_engineer", backend),
        ("system_administrator", sysadmin),
        ("product_manager", viewer),
    ):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=user.pk, by=ic)
    services.add_note(incident_id=incident.pk, author=backend, text=LONG_WORD)
    now = timezone.now()
    SafeguardCheck.objects.create(
        incident=incident,
        safeguard_id="full_backup_taken",
        title="A full backup was taken",
        result="pass",
        summary=f"{LONG_PATH} is 3 h old",
        checked_at=now,
    )
    SafeguardCheck.objects.create(
        incident=incident,
        safeguard_id="backup_verified",
        title="The backup was verified",
        result="fail",
        summary=f"pg_restore --list {LONG_PATH}: unexpected end of file",
        checked_at=now,
    )
    services.advance_phase(incident_id=incident.pk, by=ic, reason="Layout test: move on")
    stop = Step.objects.get(incident=incident, key="stop_writes")
    restore = Step.objects.get(incident=incident, key="restore_database")
    StepRun.objects.create(
        step=stop,
        incident=incident,
        attempt=1,
        status=StepRun.Status.SUCCEEDED,
        requested_by=sysadmin,
        requested_at=now - timedelta(minutes=3),
        started_at=now - timedelta(minutes=3),
        finished_at=now - timedelta(minutes=3) + timedelta(seconds=12.3),
        exit_code=0,
        summary="exit 0",
        log_lines=2,
        log_tail="ALTER DATABASE\nwrites stopped",
    )
    Step.objects.filter(pk=stop.pk).update(
        state="done", state_changed_by=sysadmin, state_changed_at=now
    )
    StepRun.objects.create(
        step=restore,
        incident=incident,
        attempt=1,
        status=StepRun.Status.RUNNING,
        requested_by=sysadmin,
        requested_at=now - timedelta(seconds=40),
        approved_by=ic,
        approved_at=now - timedelta(seconds=35),
        started_at=now - timedelta(seconds=30),
        heartbeat_at=now,
        log_lines=3,
        log_tail=f"pg_restore: connecting\npg_restore: reading {LONG_PATH}{LONG_PATH}\nrestoring table users",
    )
    return incident


def measure(page: Page, width: int) -> dict[str, float]:
    """The page's width, the chart's smallest label size and the widest box's right edge."""
    return page.evaluate(
        """() => {
          const labels = Array.from(document.querySelectorAll('.gantt-chart .row-label'));
          const shown = (sel) => Array.from(document.querySelectorAll(sel)).filter((el) => el.checkVisibility());
          const right = (sel) => Math.max(0, ...shown(sel).map((el) => el.getBoundingClientRect().right));
          const widest = (sel) => {
            let best = null;
            for (const el of shown(sel)) {
              if (!best || el.getBoundingClientRect().right > best.getBoundingClientRect().right) best = el;
            }
            return best ? best.outerHTML.slice(0, 160) : "";
          };
          return {
            scroll: document.documentElement.scrollWidth,
            labels: labels.length,
            smallest: Math.min(...labels.map((el) => parseFloat(getComputedStyle(el).fontSize))),
            labelRight: right('.gantt-chart .row-label'),
            noteRight: right('.timeline .what'),
            pathRight: right('.safeguard small'),
            controlsRight: right('.step-controls button, .step-controls summary'),
            widestControl: widest('.step-controls button, .step-controls summary'),
          };
        }"""
    )


@pytest.mark.timeout(240)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_every_page_fits_every_width_with_a_readable_chart(
    scene, open_page: OpenPage, ic, sysadmin, viewer, scheme
):
    SCREENS.mkdir(parents=True, exist_ok=True)
    path = f"/incidents/{scene.pk}/"
    for who, user in (("ic", ic), ("engineer", sysadmin), ("pm", viewer)):
        page = open_page(user, path, color_scheme=scheme, viewport={"width": 1366, "height": 900})
        expect(page.locator("body")).to_have_attribute("data-live", "live")
        chart = page.get_by_test_id("phase-chart")
        for width in WIDTHS:
            page.set_viewport_size({"width": width, "height": 900})
            got = measure(page, width)
            where = f"{who}'s page at {width} px ({scheme})"
            assert got["scroll"] <= width, f"{where} is {got['scroll']} px wide"
            expect(chart).to_be_visible()
            assert got["labels"] == 4, f"{where}: the chart shows {got['labels']} phase names"
            assert got["smallest"] >= MIN_LABEL_PX, f"{where}: chart labels {got['smallest']} px"
            for key in ("labelRight", "noteRight", "pathRight", "controlsRight"):
                assert got[key] <= width, f"{where}: {key} at {got[key]} px {got['widestControl']}"
            if width in SCREENSHOT_WIDTHS:
                page.screenshot(path=SCREENS / f"{who}-{width}-{scheme}.png", full_page=True)
                # The whole phone page scales down to nothing in an image viewer: its
                # first screens too, at their real size, to look at.
                for n in range(3 if width < 600 else 0):
                    clip: FloatRect = {"x": 0, "y": n * 1200, "width": width, "height": 1200}
                    page.screenshot(
                        path=SCREENS / f"{who}-{width}-{scheme}-{n + 1}.png",
                        full_page=True,
                        clip=clip,
                    )
        if who == "engineer":
            # The running step reads clearly; the finished phase is folded away.
            expect(page.get_by_test_id("run-elapsed")).to_be_visible()
            stop = Step.objects.get(incident=scene, key="stop_writes")
            expect(page.locator(f"#step-{stop.pk}").get_by_test_id("run-line")).to_have_text(
                "Succeeded · exit 0 · 12.3 s"
            )
            expect(page.locator(".phase.compact")).to_have_count(1)
        page.context.close()
    # The postmortem follows the same scheme and fits the same widths.
    page = open_page(ic, reverse("postmortem:page", args=[scene.pk]), color_scheme=scheme)
    expect(page.locator("article.postmortem")).to_be_visible()
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        scroll = page.evaluate("document.documentElement.scrollWidth")
        assert scroll <= width, f"the postmortem at {width} px ({scheme}) is {scroll} px wide"
        page.screenshot(path=SCREENS / f"postmortem-{width}-{scheme}.png")


@pytest.mark.timeout(180)
@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_the_other_pages_fit_a_phone_and_a_laptop(scene, open_page: OpenPage, ic, scheme):
    """Every other page of the product, as the commander sees it, at 360 and 1366 px."""
    pages = {
        "incident-list": reverse("incidents:list"),
        "open-incident": reverse("incidents:open"),
        "timeline": reverse("incidents:timeline", args=[scene.pk]),
        "runbooks": reverse("runbooks:list"),
        "runbook": reverse("runbooks:detail", args=["mig-002"]),
        "import": reverse("runbooks:import"),
        "tokens": reverse("common:tokens"),
    }
    page = open_page(ic, pages["incident-list"], color_scheme=scheme)
    for name, path in pages.items():
        page.goto(page.url.split("/", 3)[0] + "//" + page.url.split("/", 3)[2] + path)
        for width in (360, 1366):
            page.set_viewport_size({"width": width, "height": 900})
            scroll = page.evaluate("document.documentElement.scrollWidth")
            assert scroll <= width, f"{name} at {width} px ({scheme}) is {scroll} px wide"
            page.screenshot(path=SCREENS / f"page-{name}-{width}-{scheme}.png")
