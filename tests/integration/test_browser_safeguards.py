"""A step held by its safeguards, in real browsers: refused, then run over them by the IC.

The restore step waits for a verified backup (pre-flight found it failed) and for an
off-site copy nobody has confirmed. The engineer's Run is refused, naming both; the
engineer has no override control; the incident commander overrides with a reason,
and every page shows the run queued and the override, reason included, on the
timeline. No worker listens: the run stays queued, which is what is asserted.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from incidents import broadcast, services
from incidents.models import SafeguardCheck, StepRun, TimelineEntry
from tests.drills.gated import gated_spec
from tests.factories import make_version
from tests.integration.browser import LOAD_MS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REASON = "backup verified by hand: pg_restore --list read 412 entries"


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API keeps an event loop in the test thread (shared/PITFALLS.md)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set-up writes here publish nothing (this process's layer is not the server's)."""
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)


@pytest.fixture
def held(ic, backend, sysadmin):
    incident = services.open_incident(
        version=make_version(gated_spec()),
        environment="staging",
        title="Held restore drill",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    for role, user in (("backend_engineer", backend), ("system_administrator", sysadmin)):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=user.pk, by=ic)
    services.complete_step(step_id=incident.steps.get(key="disable-v1").pk, by=backend)
    services.complete_step(step_id=incident.steps.get(key="stop-writes").pk, by=sysadmin)
    SafeguardCheck.objects.create(
        incident=incident,
        safeguard_id="backup_verified",
        title="Backup verified",
        result=SafeguardCheck.Result.FAIL,
        summary="marker file missing",
        checked_at=timezone.now(),
    )
    return incident


@pytest.mark.timeout(90)
def test_the_ic_overrides_held_safeguards_with_a_reason(held, incident_page, ic, sysadmin):
    restore = held.steps.get(key="restore")
    card = f"#step-{restore.pk}"
    eng = incident_page(sysadmin, held)
    ic_page = incident_page(ic, held)

    # The engineer may run the step, but not over its safeguards.
    eng.locator(card).get_by_test_id("run-button").click()
    alert = eng.locator(card).get_by_role("alert")
    expect(alert).to_contain_text("Restore from backup is held by its safeguards", timeout=LOAD_MS)
    expect(alert).to_contain_text("backup_verified failed (marker file missing")
    expect(alert).to_contain_text("backup_offsite unconfirmed (not confirmed)")
    expect(eng.locator(card).get_by_text("Override safeguards…")).to_be_hidden()
    assert not StepRun.objects.exists()

    # The IC overrides, saying why.
    ic_card = ic_page.locator(card)
    expect(ic_card.get_by_test_id("step-gate")).to_contain_text("backup_verified")
    ic_card.get_by_text("Override safeguards…").click()
    ic_card.get_by_label("Reason for overriding").fill(REASON)
    ic_card.get_by_role("button", name="Override and run").click()

    for page in (ic_page, eng):
        # The run is requested past its safeguards: queued, or already taken by a worker
        # that another test of the session left consuming.
        expect(page.locator(card).get_by_test_id("run-status")).to_have_text(
            re.compile(r"Queued|Running|Succeeded|Failed"), timeout=LOAD_MS
        )
        expect(page.locator(".timeline")).to_contain_text(
            "Safeguards overridden for Restore from backup", timeout=LOAD_MS
        )
        expect(page.locator(".timeline")).to_contain_text(REASON)
    run = StepRun.objects.get()
    assert run.safeguard_override_reason == REASON and run.requested_by == ic
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.SAFEGUARDS_OVERRIDDEN)
    assert entry.actor == ic
