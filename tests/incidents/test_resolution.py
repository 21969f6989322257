from __future__ import annotations

import pytest

from common.capabilities import VIEWERS
from incidents import services
from incidents.criteria import criteria_status
from incidents.models import Criterion, Incident, TimelineEntry
from tests.factories import make_user, make_version
from tests.validation_runs import ALL_PASS, CHECKED_RUNBOOK, meet_criteria

pytestmark = pytest.mark.django_db


def test_criteria_are_copied_from_the_runbook(mig002):
    keys = list(Criterion.objects.filter(incident=mig002).values_list("key", flat=True))
    assert keys == [
        "users_can_access_accounts",
        "core_functionality_works",
        "performance_baseline",
        "zero_data_loss",
        "auth_security_intact",
    ]
    assert mig002.follow_ups.count() == 5


def test_resolve_refused_while_criteria_unmet(mig002, ic):
    with pytest.raises(services.ServiceError, match="Success criteria not met"):
        services.resolve_incident(incident_id=mig002.pk, by=ic)
    assert Incident.objects.get(pk=mig002.pk).status == "active"


def test_resolve_with_override_records_reason(mig002, ic):
    services.resolve_incident(
        incident_id=mig002.pk, by=ic, override_reason="customers confirmed by phone"
    )
    incident = Incident.objects.get(pk=mig002.pk)
    assert (
        incident.status == "resolved"
        and incident.resolve_override_reason == "customers confirmed by phone"
    )
    entry = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.RESOLVED).get()
    assert "Reason: customers confirmed by phone" in entry.text


def test_pm_holding_product_manager_signs_off(mig002, ic):
    pm = make_user("pm2", VIEWERS)
    services.assign_role(incident_id=mig002.pk, role_key="product_manager", user_id=pm.pk, by=ic)
    criterion = Criterion.objects.get(incident=mig002, key="users_can_access_accounts")
    services.sign_off(criterion_id=criterion.pk, by=pm)
    status = next(
        s for s in criteria_status(mig002) if s.criterion.key == "users_can_access_accounts"
    )
    assert not any("sign-off" in m for m in status.missing)


def test_viewer_cannot_hold_a_role_that_owns_steps(mig002, ic):
    pm = make_user("pm3", VIEWERS)
    with pytest.raises(services.ServiceError, match="may not hold"):
        services.assign_role(
            incident_id=mig002.pk, role_key="backend_engineer", user_id=pm.pk, by=ic
        )


def test_sign_off_over_http_needs_the_role(client, mig002, ic, viewer):
    criterion = Criterion.objects.get(incident=mig002, key="users_can_access_accounts")
    url = f"/incidents/{mig002.pk}/criteria/{criterion.pk}/sign-off/"
    client.force_login(viewer)
    assert client.post(url).status_code == 403
    services.assign_role(
        incident_id=mig002.pk, role_key="product_manager", user_id=viewer.pk, by=ic
    )
    html = client.post(url).content.decode()
    assert "signed off by pm" in html


def test_sign_off_refuses_the_ic_without_the_criterion_role(mig002, ic):
    criterion = Criterion.objects.get(incident=mig002, key="users_can_access_accounts")
    with pytest.raises(services.ServiceError, match="holding the criterion's sign-off role"):
        services.sign_off(criterion_id=criterion.pk, by=ic)
    criterion.refresh_from_db()
    assert criterion.signed_off_by is None
    assert not mig002.timeline.filter(kind=TimelineEntry.Kind.SIGNED_OFF).exists()


def test_sign_off_by_the_ic_holding_the_criterion_role(mig002, ic):
    services.assign_role(incident_id=mig002.pk, role_key="product_manager", user_id=ic.pk, by=ic)
    criterion = Criterion.objects.get(incident=mig002, key="users_can_access_accounts")
    services.sign_off(criterion_id=criterion.pk, by=ic)
    criterion.refresh_from_db()
    assert criterion.signed_off_by == ic


def test_sign_off_buttons_are_offered_only_to_the_role_holder(client, mig002, ic, viewer):
    services.assign_role(
        incident_id=mig002.pk, role_key="product_manager", user_id=viewer.pk, by=ic
    )
    criterion = Criterion.objects.get(incident=mig002, key="users_can_access_accounts")
    signoffs = f"/incidents/{mig002.pk}/signoffs/"
    button = 'data-testid="sign-off-users_can_access_accounts"'
    client.force_login(ic)
    assert button not in client.get(signoffs).content.decode()
    url = f"/incidents/{mig002.pk}/criteria/{criterion.pk}/sign-off/"
    assert client.post(url).status_code == 403
    client.force_login(viewer)
    assert button in client.get(signoffs).content.decode()


def test_resolve_button_refused_with_unmet_criteria_over_http(client, mig002, ic):
    client.force_login(ic)
    html = client.post(f"/incidents/{mig002.pk}/resolve/").content.decode()
    assert "Success criteria not met" in html
    client.post(f"/incidents/{mig002.pk}/resolve/", {"reason": "drill ends here"})
    assert Incident.objects.get(pk=mig002.pk).status == "resolved"


# --- every criterion truly met: checks passed, sign-offs given, no reason needed --


@pytest.fixture
def version(db):
    """Overrides conftest's (for ``incident``): criteria proven by checks and sign-offs."""
    return make_version(CHECKED_RUNBOOK)


def test_resolve_needs_no_reason_once_every_criterion_is_met(incident, ic):
    meet_criteria(incident)
    assert all(status.is_met for status in criteria_status(incident))

    services.resolve_incident(incident_id=incident.pk, by=ic)

    incident.refresh_from_db()
    assert (incident.status, incident.resolved_by, incident.resolve_override_reason) == (
        "resolved",
        ic,
        "",
    )
    entry = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.RESOLVED).get()
    assert (entry.text, entry.data) == (
        "Resolved: every success criterion met.",
        {"override_reason": ""},
    )


UNMET = [
    pytest.param(ALL_PASS, {"ops-normal"}, "Operations back to normal (sign-off by system administrator)", id="sign-off"),
    pytest.param({**ALL_PASS, "tasks_intact": "fail"}, (), "No data lost (check “Every task is still there” did not pass)", id="check"),
]  # fmt: skip


@pytest.mark.parametrize(("results", "unsigned", "named"), UNMET)
def test_resolve_without_a_reason_is_refused_naming_the_one_unmet_criterion(
    incident, ic, results, unsigned, named
):
    meet_criteria(incident, results, unsigned)
    with pytest.raises(services.ServiceError) as err:
        services.resolve_incident(incident_id=incident.pk, by=ic)
    assert err.value.message == (
        f"Success criteria not met: {named}. Give a reason to resolve anyway."
    )
    assert Incident.objects.get(pk=incident.pk).status == "active"


def test_resolve_button_needs_no_reason_once_every_criterion_is_met(client, incident, ic):
    meet_criteria(incident)
    client.force_login(ic)
    response = client.post(f"/incidents/{incident.pk}/resolve/", HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'class="error"' not in html
    assert html.count('class="criterion met"') == 3
    assert "Resolved " in html and "by ic." in html and "criteria overridden" not in html
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
