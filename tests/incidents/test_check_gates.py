"""Failed validation checks hold a phase until they pass again or the IC overrides them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents import services
from incidents.checks.selectors import latest_results
from incidents.models import Phase, Step, TimelineEntry
from incidents.services.phases import exit_blockers
from tests.factories import make_version
from tests.validation_runs import CHECKED_RUNBOOK, run_checks

pytestmark = pytest.mark.django_db

USERS_FAILED = "Every user account is still there (failed)"


@pytest.fixture
def version(db):
    """Overrides conftest's: the small runbook whose second phase is proven by checks."""
    return make_version(CHECKED_RUNBOOK)


@pytest.fixture
def validating(incident, ic):
    """The incident in its second phase, "Validation" (the first ended by the IC)."""
    services.advance_phase(incident_id=incident.pk, by=ic, reason="the drill starts here")
    return Phase.objects.get(incident=incident, key="validate")


def ended(phase: Phase) -> bool:
    phase.refresh_from_db()
    return phase.ended_at is not None


@pytest.mark.parametrize("result", ["fail", "error"])
def test_skip_step_refuses_the_owner_once_the_checks_did_not_pass(
    result, validating, incident, step, backend
):
    verify = step("verify-data")
    run_checks(verify, backend, {"tasks_intact": "pass", "users_intact": result})
    entries = incident.timeline.count()
    with pytest.raises(services.ServiceError) as err:
        services.skip_step(step_id=verify.pk, by=backend, reason="looked fine to me")
    state = "failed" if result == "fail" else "could not be checked"
    assert err.value.message == (
        f"Its checks did not pass (Every user account is still there ({state})). Run it again "
        "once fixed; only the incident commander may skip it, overriding them."
    )
    assert step("verify-data").state == Step.State.PENDING
    assert incident.timeline.count() == entries and not ended(validating)


def test_skip_step_by_the_ic_over_failed_checks_is_an_override_on_the_record(
    validating, incident, step, backend, ic
):
    services.complete_step(step_id=step("smoke").pk, by=backend)
    services.skip_step(step_id=step("spot-check").pk, by=backend, reason="not needed this time")
    run_checks(step("verify-data"), backend, {"tasks_intact": "pass", "users_intact": "fail"})
    assert not ended(validating)

    services.skip_step(step_id=step("verify-data").pk, by=ic, reason="restored by hand")

    entry = TimelineEntry.objects.filter(
        incident=incident, kind=TimelineEntry.Kind.STEP_SKIPPED, step=step("verify-data")
    ).get()
    assert entry.text == (
        f"Skipped by the IC, overriding failed checks ({USERS_FAILED}): "
        "Verify data integrity. Reason: restored by hand"
    )
    assert entry.data == {"reason": "restored by hand", "overridden_checks": [USERS_FAILED]}
    assert ended(validating)  # the IC's override settled the last thing holding it
    assert latest_results(incident)["users_intact"] == "fail"  # the record keeps the failure


def test_a_failed_check_alone_holds_the_phase_until_the_ic_advances_with_a_reason(
    validating, incident, step, backend, ic
):
    run_checks(step("spot-check"), backend, {"profiles_intact": "fail"})  # an optional step
    run_checks(step("verify-data"), backend, {"tasks_intact": "pass", "users_intact": "pass"})
    services.complete_step(step_id=step("smoke").pk, by=backend)

    assert step("verify-data").state == Step.State.DONE
    assert exit_blockers(validating) == ["validation failed: Profiles match the backup (failed)"]
    assert not ended(validating)  # settling the last required step did not end it
    with pytest.raises(services.ServiceError) as err:
        services.advance_phase(incident_id=incident.pk, by=ic)
    assert err.value.message == (
        "The phase cannot exit yet (validation failed: Profiles match the backup (failed)). "
        "Give a reason to advance anyway."
    )
    assert not ended(validating)

    services.advance_phase(incident_id=incident.pk, by=ic, reason="support fixes profiles")

    assert ended(validating)
    entry = TimelineEntry.objects.filter(
        incident=incident, kind=TimelineEntry.Kind.PHASE_ENDED, data__phase="validate"
    ).get()
    assert entry.text == (
        "Phase ended: Validation — advanced by the IC over: validation failed: Profiles match "
        "the backup (failed). Reason: support fixes profiles"
    )
    assert entry.actor == ic


def test_a_passing_rerun_clears_the_failed_check(validating, incident, step, backend):
    services.complete_step(step_id=step("smoke").pk, by=backend)
    # Never run: nothing failed to override, so its owner may skip it.
    services.skip_step(step_id=step("spot-check").pk, by=backend, reason="not needed this time")
    verify = step("verify-data")
    run_checks(verify, backend, {"tasks_intact": "pass", "users_intact": "fail"})
    assert exit_blockers(validating) == [
        "step not done: Verify data integrity",
        f"validation failed: {USERS_FAILED}",
    ]

    again = run_checks(verify, backend, {"tasks_intact": "pass", "users_intact": "pass"})

    assert again.attempt == 2 and step("verify-data").state == Step.State.DONE
    assert exit_blockers(validating) == [] and ended(validating)
    assert TimelineEntry.objects.filter(
        incident=incident,
        kind=TimelineEntry.Kind.PHASE_ENDED,
        text="Phase ended: Validation (every required step settled)",
    ).exists()


def test_skip_over_failed_checks_is_refused_in_the_page_fragment(
    validating, client, incident, step, backend
):
    verify = step("verify-data")
    run_checks(verify, backend, {"tasks_intact": "pass", "users_intact": "fail"})
    client.force_login(backend)
    url = reverse("incidents:step_skip", args=[incident.pk, verify.pk])
    response = client.post(url, {"reason": "looked fine"}, HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-state="pending"' in html
    assert "only the incident commander may skip it, overriding them" in html
