"""A large runbook's page folds the phases other than the running one, and they still work.

The phases past FULL_STEPS (incidents/selectors.py) come folded: their head, counts and
owners. A fold opens on its steps (an htmx GET); a push for a step of a folded phase
moves that phase's counts; and when the IC advances into a folded phase, the open
page unfolds it by itself (static/js/runs.js), without a reload.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from playwright.sync_api import expect

from incidents.models import Incident, Step
from incidents.services import complete_step
from tests.integration.browser import ROUND_TRIP_MS
from tests.integration.processes import CHANNEL_PREFIX, REDIS_URL
from tests.page_scene import build_incident

pytestmark = [
    pytest.mark.browser,
    pytest.mark.integration,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(240),
]


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright(django_db_setup) -> Iterator[None]:
    # django_db_setup first: the test database exists before Playwright's loop starts.
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _redis_layer(settings) -> None:
    """Writes reach the browser through the server's Redis."""
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "prefix": CHANNEL_PREFIX},
        }
    }


@pytest.fixture
def large(transactional_db, ic, backend, sysadmin) -> Incident:
    """Three phases of 30 steps in its first phase: the next two are folded (30 + 30 > 40)."""
    people = (ic, backend, sysadmin)
    return in_thread(
        lambda: build_incident(phases=3, steps_per_phase=30, ended=0, entries=20, people=people)
    )


def in_thread(work):
    """Set-up publishes too (opening the incident): off the test thread, like the tick."""

    def run():
        try:
            return work()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(run).result(timeout=120)


def test_folded_phases_open_take_pushes_and_unfold_when_they_start(
    incident_page, ic, backend, large
):
    first, second, third = large.phases.order_by("position")
    page = incident_page(ic, large)
    expect(page.locator(".phase.compact")).to_have_count(2)
    fold = page.locator(f"#phase-{third.pk} details.phase-steps")
    expect(fold.locator("summary")).to_have_text("Not started · show its 30 steps")
    step = Step.objects.filter(phase=third).order_by("position").first()
    assert step is not None
    expect(page.locator(f"#step-{step.pk}")).to_have_count(0)

    # A push for a step the page does not show: its phase's counts move, nothing breaks.
    in_thread(lambda: complete_step(step_id=step.pk, by=backend))
    expect(page.locator(f"#phase-progress-{third.pk} .count")).to_have_text(
        "1 / 30", timeout=ROUND_TRIP_MS
    )
    fold.locator("summary").click()
    expect(page.locator(f"#step-{step.pk}")).to_be_visible(timeout=ROUND_TRIP_MS)
    expect(page.locator(f"#step-{step.pk}")).to_have_attribute("data-state", "done")

    # The IC moves on: the first phase folds away, the second unfolds with its steps.
    head = page.locator(f"#phase-head-{first.pk}")
    head.locator("summary", has_text="Advance").click()
    head.get_by_label("Reason").fill("Browser test: on to the next phase")
    head.get_by_role("button", name="End this phase, start the next").click()
    section = page.locator(f"#phase-{second.pk}")
    expect(section.locator("details.phase-steps > summary")).to_have_text(
        "In progress · show its 30 steps", timeout=ROUND_TRIP_MS
    )
    later = Step.objects.filter(phase=second).order_by("position").last()
    assert later is not None
    expect(page.locator(f"#step-{later.pk}")).to_be_attached(timeout=ROUND_TRIP_MS)
    expect(page.locator(f"#phase-{first.pk}")).to_have_class("phase compact", timeout=ROUND_TRIP_MS)
