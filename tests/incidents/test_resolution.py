from __future__ import annotations

import pytest
from django.core.management import call_command

from common.capabilities import VIEWERS
from incidents import services
from incidents.criteria import criteria_status
from incidents.models import Criterion, Incident, TimelineEntry
from runbooks.selectors import latest_version
from tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def mig002(ic):
    call_command("load_runbooks", verbosity=0)
    return services.open_incident(
        version=latest_version("mig-002"),  # type: ignore[arg-type]
        environment="demo",
        title="MIG-002",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )


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


def test_resolve_button_refused_with_unmet_criteria_over_http(client, mig002, ic):
    client.force_login(ic)
    html = client.post(f"/incidents/{mig002.pk}/resolve/").content.decode()
    assert "Success criteria not met" in html
    client.post(f"/incidents/{mig002.pk}/resolve/", {"reason": "drill ends here"})
    assert Incident.objects.get(pk=mig002.pk).status == "resolved"
