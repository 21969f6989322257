"""Drills are safe: never on production; a real production incident needs its name typed."""

from __future__ import annotations

import pytest
from django.urls import reverse

from incidents import services
from incidents.models import Incident
from tests.api.conftest import Api

pytestmark = pytest.mark.django_db

DRILL_REFUSED = "Drills are refused on &#x27;production&#x27;: it is marked production."
TYPE_ITS_NAME = "type its name (production) to confirm"


def _open(version, ic, **overrides):
    kwargs = {
        "version": version,
        "environment": "production",
        "title": "Checkout down",
        "severity": "sev1",
        "is_drill": False,
        "opened_by": ic,
    }
    return services.open_incident(**(kwargs | overrides))


def test_service_refuses_a_drill_on_production_even_with_the_name_typed(version, ic):
    with pytest.raises(services.ServiceError, match="Drills are refused on 'production'"):
        _open(version, ic, is_drill=True, confirm_environment="production")
    assert not Incident.objects.exists()


@pytest.mark.parametrize("typed", ["", "prod", "Production", "staging"])
def test_service_refuses_a_real_production_incident_without_the_typed_name(version, ic, typed):
    with pytest.raises(services.ServiceError, match=r"type its name \(production\)"):
        _open(version, ic, confirm_environment=typed)
    assert not Incident.objects.exists()


def test_service_opens_a_real_production_incident_with_the_typed_name(version, ic):
    incident = _open(version, ic, confirm_environment=" production ")
    assert incident.environment == "production" and not incident.is_drill


def test_service_opens_drills_on_other_environments_without_confirmation(version, ic):
    assert _open(version, ic, environment="staging", is_drill=True).is_drill


def _form(version, **overrides):
    return {
        "version": version.pk,
        "environment": "production",
        "title": "Checkout down",
        "severity": "sev1",
    } | overrides


def test_form_refuses_a_drill_on_production_at_the_drill_box(client, ic, version):
    client.force_login(ic)
    response = client.post(reverse("incidents:open"), _form(version, is_drill="on"))
    html = response.content.decode()
    assert response.status_code == 200 and DRILL_REFUSED in html
    # The message sits beside the drill box, not at the top of the form.
    assert html.index(DRILL_REFUSED) > html.index('name="is_drill"')
    assert not Incident.objects.exists()


def test_form_refuses_production_without_the_typed_name_at_the_confirm_field(client, ic, version):
    client.force_login(ic)
    response = client.post(reverse("incidents:open"), _form(version, confirm_environment="prod"))
    html = response.content.decode()
    assert response.status_code == 200 and TYPE_ITS_NAME in html
    assert html.index(TYPE_ITS_NAME) > html.index('name="confirm_environment"')
    assert not Incident.objects.exists()


def test_form_opens_production_with_the_typed_name(client, ic, version):
    client.force_login(ic)
    response = client.post(
        reverse("incidents:open"), _form(version, confirm_environment="production")
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and incident.environment == "production"


def test_form_marks_production_in_the_environment_choices(client, ic, version):
    client.force_login(ic)
    html = client.get(reverse("incidents:environments"), {"version": version.pk}).content.decode()
    assert "Production (production)" in html


OPEN = {"runbook": "small", "environment": "production", "title": "Down", "severity": "sev1"}


def test_api_refuses_a_drill_on_production_with_400(api_as, ic, version):
    api: Api = api_as(ic)
    response = api.post(
        "/incidents", OPEN | {"is_drill": True, "confirm_environment": "production"}
    )
    assert response.status_code == 400
    assert "Drills are refused on 'production'" in response.json()["detail"]
    assert not Incident.objects.exists()


def test_api_refuses_production_without_the_typed_name_with_400(api_as, ic, version):
    response = api_as(ic).post("/incidents", OPEN)
    assert response.status_code == 400
    assert TYPE_ITS_NAME in response.json()["detail"]
    assert not Incident.objects.exists()


def test_api_opens_production_with_the_typed_name(api_as, ic, version):
    response = api_as(ic).post("/incidents", OPEN | {"confirm_environment": "production"})
    assert response.status_code == 201
    assert Incident.objects.get().environment == "production"


def test_api_confirmation_must_be_text(api_as, ic, version):
    response = api_as(ic).post("/incidents", OPEN | {"confirm_environment": 1})
    assert response.status_code == 422
