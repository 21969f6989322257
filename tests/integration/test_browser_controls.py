"""Controls that match the rules, live, and people told when they are needed (issue 12).

Chromium against a real uvicorn (Redis channel layer), one browser context per
person, as in test_browser_core_loop.py: the incident commander (``ic``), a second
commander (``ic2``), the backend engineer (``backend``), the system administrator
(``sysadmin``) and the product manager (``pm``, a viewer). Each test failed on the
main branch before this change: controls stayed after "Resolve", a 403 showed an
alert without the rule's words, a responder was shown "Resolve incident", the PM
could not be picked for the product manager's role, the IC's own run of the restore
waited for an approval nobody could give, and a handover left the page's idea of
who is IC as it was.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from common.capabilities import COMMANDERS
from incidents import broadcast, services
from incidents.models import (
    Criterion,
    Incident,
    Phase,
    RoleAssignment,
    SafeguardCheck,
    Step,
    StepRun,
    TimelineEntry,
)
from runbooks.models import Runbook, RunbookVersion
from tests.factories import make_user
from tests.integration.browser import LOAD_MS, ROUND_TRIP_MS, step_card

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

OWN_STEP = "Disable new endpoints"  # backend_engineer, requires nothing
RESTORE = "Restore from backup"  # system_administrator's, gated on the incident commander
CONTROLS = ("Done", "Run", "Assign", "Hand over", "Add note", "Skip step", "Undo")


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


@pytest.fixture(autouse=True)
def _no_push_from_test_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Set-up writes made here push nothing (this process's layer reaches no browser)."""
    monkeypatch.setattr(broadcast, "send_change", lambda change: None)
    monkeypatch.setattr("common.notify.send", lambda groups, message: None)


@pytest.fixture
def mig002(transactional_db) -> RunbookVersion:
    call_command("load_runbooks", stdout=io.StringIO())
    version = Runbook.objects.get(slug="mig-002").current_version
    assert version is not None
    return version


@pytest.fixture
def ic2(transactional_db):
    return make_user("ic2", COMMANDERS)


@pytest.fixture
def mig_incident(mig002, ic, backend, sysadmin) -> Incident:
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


def notices_open(page: Page) -> None:
    expect(page.locator("body")).to_have_attribute("data-notify", "open", timeout=LOAD_MS)


def visible_controls(page: Page) -> dict[str, int]:
    return {name: page.get_by_role("button", name=name, exact=True).count() for name in CONTROLS}


def restore_ready(incident: Incident, ic) -> Step:
    """What the restore requires, settled (skipped by the IC), so it may be run; and
    the safeguard it is gated on (a verified backup) checked and passing."""
    SafeguardCheck.objects.create(
        incident=incident,
        safeguard_id="backup_verified",
        title="The backup was verified",
        result="pass",
        summary="pg_restore --list read the whole dump",
        checked_at=timezone.now(),
    )
    for key in ("disable_new_endpoints", "activate_maintenance_mode", "stop_writes"):
        step = Step.objects.get(incident=incident, key=key)
        services.skip_step(step_id=step.pk, by=ic, reason="set-up of the test")
    return Step.objects.get(incident=incident, title=RESTORE)


# --- 1. every control follows the server, live ------------------------------------------


def test_resolve_takes_every_control_from_every_open_page(mig_incident, incident_page, ic, backend):
    """The IC resolves in one tab: the IC's other tab and the engineer's page lose
    Done / Skip / Run / Assign / Hand over / Add note without a reload."""
    ic_a = incident_page(ic, mig_incident)
    ic_b = incident_page(ic, mig_incident)
    eng = incident_page(backend, mig_incident)
    for page in (ic_b, eng):
        assert visible_controls(page)["Done"] > 0 and visible_controls(page)["Add note"] == 1
    assert visible_controls(ic_b)["Hand over"] == 1 and visible_controls(ic_b)["Run"] > 0

    criteria = ic_a.locator(f"#criteria-{mig_incident.pk}")
    criteria.get_by_label("Reason (needed while a criterion is unmet)").fill("drill over")
    criteria.get_by_test_id("resolve").click()

    for page in (ic_a, ic_b, eng):
        expect(page.locator(".badges .status")).to_have_text("Resolved", timeout=ROUND_TRIP_MS)
        for name in CONTROLS:
            expect(page.get_by_role("button", name=name, exact=True)).to_have_count(
                0, timeout=ROUND_TRIP_MS
            )
        expect(page.locator("summary:visible", has_text="Skip…")).to_have_count(0)
        expect(page.locator("textarea[name=text]:visible")).to_have_count(0)


def test_a_swap_keeps_what_a_person_has_open_and_typed(mig_incident, incident_page, ic):
    """The IC's page is offline for a moment (its socket held closed). The IC ends the
    first phase, opens the next one's "Advance…" and starts its reason; then the page
    reconnects and fetches its panels again, replacing that phase's head. The form stays
    open, the words and the cursor stay where they were, and the IC finishes and sends
    it. A note sent from the page is not put back by the next swap. CI once saw the
    form close under the IC's hands when a push re-rendered the head (stop 19)."""
    first, second = Phase.objects.filter(incident=mig_incident).order_by("position")[:2]
    page = incident_page(ic, mig_incident)
    page.evaluate("window.ripcord.hold()")
    advance = page.locator(f"#phase-head-{first.pk}")
    advance.locator("summary", has_text="Advance").click()
    advance.get_by_label("Reason").fill("Drill: on to the next phase")
    advance.get_by_role("button", name="End this phase, start the next").click()
    head = page.locator(f"#phase-head-{second.pk}")
    head.locator("summary", has_text="Advance").click(timeout=ROUND_TRIP_MS)
    reason = head.get_by_label("Reason")
    reason.fill("The exit rule is met")
    head.evaluate("(el) => { el.dataset.before = 'swap'; }")

    page.evaluate("window.ripcord.release()")
    expect(page.locator("body")).to_have_attribute("data-live", "live", timeout=ROUND_TRIP_MS)
    expect(head).not_to_have_attribute("data-before", "swap")  # replaced by the fetched copy
    expect(reason).to_be_visible()
    expect(reason).to_have_value("The exit rule is met")
    expect(reason).to_be_focused()
    page.keyboard.type(" by hand")
    head.get_by_role("button", name="End this phase, start the next").click()
    expect(head).to_have_attribute("data-ended", "true", timeout=ROUND_TRIP_MS)
    ended = TimelineEntry.objects.get(
        incident=mig_incident, kind=TimelineEntry.Kind.PHASE_ENDED, data__phase=second.key
    )
    assert ended.text.endswith("Reason: The exit rule is met by hand")

    note = page.locator(f"#note-text-{mig_incident.pk}")
    note.fill("Checked the replicas by hand")
    page.get_by_role("button", name="Add note").click()
    expect(page.locator(f"#timeline-{mig_incident.pk}")).to_contain_text(
        "Checked the replicas by hand", timeout=ROUND_TRIP_MS
    )
    expect(note).to_have_value("")
    page.evaluate("window.ripcord.resync()")
    expect(page.locator("body")).to_have_attribute("data-live", "live")
    expect(note).to_have_value("")


def test_people_are_told_when_they_are_needed(mig_incident, incident_page, open_page, ic, sysadmin):
    """Notices (common/notify.py), on any page: the system administrator, on the
    incident list, is told that his "Stop all write operations" can start once the
    two steps it waits for are done, and that the incident he holds a role in was
    resolved. The "Allow notifications" control sits in the top bar without covering
    any other control."""
    admin = open_page(sysadmin, "/")
    notices_open(admin)
    allow = admin.get_by_role("button", name="Allow notifications")
    expect(allow).to_be_visible()
    box = allow.bounding_box()
    for other in (admin.get_by_role("button", name="Sign out"), admin.locator(".topbar a")):
        for index in range(other.count()):
            o = other.nth(index).bounding_box()
            assert box and o
            apart = (
                box["x"] + box["width"] <= o["x"]
                or o["x"] + o["width"] <= box["x"]
                or box["y"] + box["height"] <= o["y"]
                or o["y"] + o["height"] <= box["y"]
            )
            assert apart, "'Allow notifications' covers another control of the top bar"

    ic_page = incident_page(ic, mig_incident)
    for title in ("Disable new endpoints", "Activate maintenance mode"):
        step_card(ic_page, title).get_by_role("button", name="Done").click()
        expect(step_card(ic_page, title)).to_have_attribute(
            "data-state", "done", timeout=ROUND_TRIP_MS
        )
    unblocked = admin.locator("#notices .notice-unblocked")
    expect(unblocked).to_contain_text("Your step can start", timeout=ROUND_TRIP_MS)
    expect(unblocked).to_contain_text("Stop all write operations")
    expect(unblocked.get_by_role("link", name="Open")).to_have_attribute(
        "href", reverse("incidents:detail", args=[mig_incident.pk])
    )

    criteria = ic_page.locator(f"#criteria-{mig_incident.pk}")
    criteria.get_by_label("Reason (needed while a criterion is unmet)").fill("drill over")
    criteria.get_by_test_id("resolve").click()
    resolved = admin.locator("#notices .notice-resolved")
    expect(resolved).to_contain_text("Incident resolved", timeout=ROUND_TRIP_MS)
    expect(resolved).to_contain_text("MIG-002 rollback drill")


def test_a_refused_action_says_why_beside_its_control_and_the_page_resyncs(
    mig_incident, incident_page, ic, backend
):
    """403: the engineer's page missed that the IC took him off his role (its socket
    held closed); his click on Done is refused, the rule's words appear in the step's
    card, and the page fetches its panels again: Done goes, the refusal stays.
    Validation: the IC resolving with criteria unmet and no reason reads why beside
    the Resolve button."""
    eng = incident_page(backend, mig_incident, allow_refusals=True)
    eng.evaluate("window.ripcord.hold()")
    assignment = RoleAssignment.objects.get(incident=mig_incident, role__key="backend_engineer")
    services.unassign_role(incident_id=mig_incident.pk, assignment_id=assignment.pk, by=ic)

    card = step_card(eng, OWN_STEP)
    card.get_by_role("button", name="Done").click()
    refusal = card.get_by_test_id("refusal")
    expect(refusal).to_have_text(
        re.compile("Only the step's owner role or the commander may do this."),
        timeout=ROUND_TRIP_MS,
    )
    expect(card.get_by_role("button", name="Done")).to_have_count(0, timeout=ROUND_TRIP_MS)
    expect(refusal).to_be_visible()
    assert Step.objects.get(incident=mig_incident, title=OWN_STEP).state == Step.State.PENDING

    ic_page = incident_page(ic, mig_incident)
    criteria = ic_page.locator(f"#criteria-{mig_incident.pk}")
    criteria.get_by_test_id("resolve").click()
    resolve_refusal = criteria.locator("form.resolve + .refusal")
    expect(resolve_refusal).to_contain_text(
        "Give a reason to resolve anyway", timeout=ROUND_TRIP_MS
    )
    assert Incident.objects.get(pk=mig_incident.pk).status == Incident.Status.ACTIVE


def test_a_conflict_says_who_was_first_beside_the_control(mig_incident, incident_page, ic, backend):
    """409-like: the IC's page missed that the engineer ticked the step (socket held);
    the IC's click on Done says who did it, beside the step's controls, and the
    page, fetched again, shows the step done with its Undo."""
    ic_page = incident_page(ic, mig_incident)
    ic_page.evaluate("window.ripcord.hold()")
    step = Step.objects.get(incident=mig_incident, title=OWN_STEP)
    services.complete_step(step_id=step.pk, by=backend)

    card = step_card(ic_page, OWN_STEP)
    card.get_by_role("button", name="Done").click()
    expect(card.get_by_test_id("refusal")).to_contain_text(
        "Already done by backend", timeout=ROUND_TRIP_MS
    )
    expect(card).to_have_attribute("data-state", "done")
    expect(card.get_by_role("button", name="Undo")).to_be_visible()
    expect(card.locator(".step-controls + .refusal")).to_have_count(1)


def test_a_responder_is_never_shown_resolve(mig_incident, incident_page, ic, backend):
    """The Resolve form is the IC's: hidden for a responder whatever the layout CSS says."""
    ic_page = incident_page(ic, mig_incident)
    eng = incident_page(backend, mig_incident)
    expect(ic_page.get_by_test_id("resolve")).to_be_visible()
    expect(eng.get_by_test_id("resolve")).to_be_hidden()
    expect(eng.locator("form.resolve")).to_be_hidden()
    expect(eng.get_by_role("button", name="Resolve incident")).to_have_count(0)


# --- 2. roles that match the rules ------------------------------------------------------------


def test_the_pm_is_assigned_in_the_ui_and_signs_off(
    mig_incident, incident_page, ic, ic2, backend, viewer
):
    """The product manager's role offers viewers (it owns no step); the commander's
    only commanders. The IC puts the PM on it; the PM's page offers the sign-off at
    once, and the record says the PM signed."""
    ic_page = incident_page(ic, mig_incident)
    pm_page = incident_page(viewer, mig_incident)
    roles = ic_page.locator(f"#roles-{mig_incident.pk}")

    ic_options = roles.get_by_label("Person for Incident commander").locator("option")
    expect(ic_options).to_have_text(["Hand over to…", "ic2"])  # commanders only, not the holder
    pm_select = roles.get_by_label("Person for Product manager")
    expect(pm_select.locator("option", has_text="pm")).to_have_count(1)
    pm_select.select_option(label="pm")
    roles.locator("li.role-product_manager").get_by_role("button", name="Assign").click()
    expect(roles.get_by_test_id("holder-product_manager")).to_contain_text(
        "pm", timeout=ROUND_TRIP_MS
    )

    sign = pm_page.get_by_test_id("sign-off-users_can_access_accounts")
    expect(sign).to_be_visible(timeout=ROUND_TRIP_MS)
    sign.click()
    expect(pm_page.get_by_test_id("criterion-users_can_access_accounts")).to_contain_text(
        "signed off by pm", timeout=ROUND_TRIP_MS
    )
    criterion = Criterion.objects.get(incident=mig_incident, key="users_can_access_accounts")
    assert criterion.signed_off_by == viewer


def test_a_handover_changes_who_is_ic_on_the_pages_live(mig_incident, incident_page, ic, ic2):
    ic_page = incident_page(ic, mig_incident)
    ic2_page = incident_page(ic2, mig_incident)
    expect(ic_page.locator("body")).to_have_attribute("data-is-ic", "true")
    expect(ic2_page.locator("body")).to_have_attribute("data-is-ic", "false")
    expect(ic2_page.get_by_role("button", name="Hand over")).to_have_count(0)

    roles = ic_page.locator(f"#roles-{mig_incident.pk}")
    roles.get_by_label("Person for Incident commander").select_option(label="ic2")
    roles.get_by_role("button", name="Hand over").click()

    expect(ic2_page.locator("body")).to_have_attribute("data-is-ic", "true", timeout=ROUND_TRIP_MS)
    expect(ic2_page.get_by_role("button", name="Hand over")).to_have_count(1)
    expect(ic_page.locator("body")).to_have_attribute("data-is-ic", "false", timeout=ROUND_TRIP_MS)
    expect(ic_page.get_by_role("button", name="Hand over")).to_have_count(0)
    expect(step_card(ic_page, OWN_STEP).get_by_role("button", name="Done")).to_have_count(0)


# --- 3. the commander's own gated run --------------------------------------------------------


def test_the_ics_own_gated_run_is_warned_and_self_approved_as_an_override(
    mig_incident, incident_page, open_page, ic
):
    """Alone as commander, the IC is warned before running the restore, cannot approve
    it as an ordinary approval, and approves it with a reason; the timeline and the
    postmortem call it an override."""
    restore_ready(mig_incident, ic)
    page = incident_page(ic, mig_incident)
    card = step_card(page, RESTORE)
    expect(card.get_by_test_id("gate-warning")).to_contain_text("another commander must approve")
    card.get_by_role("button", name="Run", exact=True).click()
    expect(card.get_by_test_id("run-status")).to_have_text(
        "Awaiting approval", timeout=ROUND_TRIP_MS
    )
    expect(card.get_by_test_id("approve")).to_be_hidden()
    card.get_by_text("Approve my own run…").click()
    card.get_by_label(re.compile("^Reason")).fill("the only commander on call at 03:00")
    card.get_by_role("button", name="Approve as an override").click()
    expect(card.get_by_test_id("run-status")).not_to_have_text(
        "Awaiting approval", timeout=ROUND_TRIP_MS
    )

    run = StepRun.objects.get(step__incident=mig_incident, step__title=RESTORE)
    assert run.approved_by == ic and run.requested_by == ic
    entry = TimelineEntry.objects.get(incident=mig_incident, data__override="self_approval")
    assert "the only commander on call at 03:00" in entry.text
    expect(page.locator(f"#timeline-{mig_incident.pk}")).to_contain_text(
        "Override: the incident commander approved their own run", timeout=ROUND_TRIP_MS
    )
    postmortem = open_page(ic, reverse("postmortem:page", args=[mig_incident.pk]))
    expect(postmortem.locator("body")).to_contain_text(
        "Override: the incident commander approved their own run of Restore from backup"
    )


def test_with_a_second_commander_the_ic_asks_them_and_they_approve(
    mig_incident, incident_page, ic, ic2
):
    """Four eyes stay the rule while they can: the IC's self-approval is refused naming
    the other commander, who is told an approval waits and approves it."""
    restore_ready(mig_incident, ic)
    ic_page = incident_page(ic, mig_incident, allow_refusals=True)
    ic2_page = incident_page(ic2, mig_incident)
    notices_open(ic2_page)
    ic_card = step_card(ic_page, RESTORE)
    ic_card.get_by_role("button", name="Run", exact=True).click()
    expect(ic2_page.locator("#notices .notice-approval")).to_contain_text(
        "An approval waits for you", timeout=ROUND_TRIP_MS
    )

    ic_card.get_by_text("Approve my own run…").click()
    ic_card.get_by_label(re.compile("^Reason")).fill("in a hurry")
    ic_card.get_by_role("button", name="Approve as an override").click()
    expect(ic_card.get_by_test_id("refusal")).to_contain_text(
        "Another commander can approve this run (ic2)", timeout=ROUND_TRIP_MS
    )

    ic2_card = step_card(ic2_page, RESTORE)
    ic2_card.get_by_test_id("approve").click()
    expect(ic2_card.get_by_test_id("run-status")).not_to_have_text(
        "Awaiting approval", timeout=ROUND_TRIP_MS
    )
    run = StepRun.objects.get(step__incident=mig_incident, step__title=RESTORE)
    assert run.approved_by == ic2
    assert not TimelineEntry.objects.filter(
        incident=mig_incident, data__override="self_approval"
    ).exists()
    assert run.status != StepRun.Status.AWAITING_APPROVAL
