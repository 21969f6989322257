"""Parameters per incident: declared by the runbook, given by the IC, checked, shown, passed."""

from __future__ import annotations

import copy

import pytest
from django.core.management import call_command
from django.urls import reverse

from incidents import services
from incidents.environment import resolve_for_incident
from incidents.models import Incident, TimelineEntry
from runbooks.importers.checks import check_references
from runbooks.importers.yaml import parse_runbook
from runbooks.selectors import latest_version
from tests.factories import SMALL_RUNBOOK, make_version
from tests.runbooks.samples import VALID_RUNBOOK

pytestmark = pytest.mark.django_db

TAG_PATTERN = r"^v[0-9]+\.[0-9]+\.[0-9]+$"


def spec_with_parameters():
    spec = copy.deepcopy(SMALL_RUNBOOK)
    spec["id"] = "params"
    spec["environments"][0]["variables"]["TAG"] = "from-env"
    spec["parameters"] = [
        {"name": "TAG", "description": "Release to go back to", "default": "v1.0.0",
         "pattern": TAG_PATTERN},
        {"name": "MODE", "choices": ["fast", "careful"], "required": False},
        {"name": "TICKET", "description": "Change ticket", "required": True},
    ]  # fmt: skip
    return spec


@pytest.fixture
def pversion(db):
    return make_version(spec_with_parameters())


def _open(version, ic, parameters):
    return services.open_incident(
        version=version,
        environment="staging",
        title="Params",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
        parameters=parameters,
    )


def test_service_stores_parameters_records_them_and_passes_them_as_variables(pversion, ic):
    incident = _open(pversion, ic, {"TICKET": "CHG-42", "TAG": "v1.4.2", "MODE": "careful"})
    assert incident.parameters == {"TAG": "v1.4.2", "MODE": "careful", "TICKET": "CHG-42"}
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.PARAMETERS)
    assert entry.text == "Parameters: TAG=v1.4.2, MODE=careful, TICKET=CHG-42"
    env = resolve_for_incident(incident, {}).env
    assert env["TAG"] == "v1.4.2"  # the IC's value wins over the environment's
    assert env["TICKET"] == "CHG-42"


def test_a_blank_value_takes_the_default_and_an_optional_one_is_left_out(pversion, ic):
    incident = _open(pversion, ic, {"TICKET": "CHG-1", "TAG": ""})
    assert incident.parameters == {"TAG": "v1.0.0", "TICKET": "CHG-1"}


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {"TICKET": "x", "TAG": "1.4.2"},
            f"Parameter TAG: does not match the pattern {TAG_PATTERN}.",
        ),
        ({"TICKET": "x", "TAG": "v1.4.2; rm -rf /"}, "Parameter TAG: does not match the pattern"),
        ({"TICKET": "x", "MODE": "yolo"}, "Parameter MODE: must be one of fast, careful."),
        ({}, "Parameter TICKET: required."),
        ({"TICKET": "x", "PATH": "/tmp"}, "Parameter PATH: this runbook has no parameter PATH."),
        ({"TICKET": "a\x00b"}, "Parameter TICKET: a NUL character cannot be passed"),
    ],
)
def test_service_refuses_bad_values_naming_the_parameter(pversion, ic, given, message):
    with pytest.raises(services.ServiceError) as refused:
        _open(pversion, ic, given)
    assert refused.value.message.startswith(message)
    assert not Incident.objects.exists()


def _form(version, **params):
    data = {
        "version": version.pk,
        "environment": "staging",
        "title": "Params",
        "severity": "sev2",
        "is_drill": "on",
    }
    return data | {f"param_{k}": v for k, v in params.items()}


def test_form_shows_the_parameters_with_their_defaults_and_descriptions(client, ic, pversion):
    client.force_login(ic)
    html = client.get(reverse("incidents:open")).content.decode()
    assert 'name="param_TAG"' in html and 'value="v1.0.0"' in html
    assert "Release to go back to (pattern: ^v[0-9]+" in html
    assert '<option value="careful">' in html


def test_form_refuses_a_bad_value_at_its_field(client, ic, pversion):
    client.force_login(ic)
    response = client.post(reverse("incidents:open"), _form(pversion, TAG="1.4", TICKET="x"))
    html = response.content.decode()
    message = "TAG: does not match the pattern"
    assert response.status_code == 200 and message in html
    assert html.index(message) > html.index('name="param_TAG"')
    assert not Incident.objects.exists()


def test_form_opens_with_parameters_and_the_page_shows_them(client, ic, pversion):
    client.force_login(ic)
    response = client.post(reverse("incidents:open"), _form(pversion, TAG="v2.0.1", TICKET="C-7"))
    incident = Incident.objects.get()
    assert response.status_code == 302 and incident.parameters["TAG"] == "v2.0.1"
    html = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert 'data-testid="parameter-TAG">v2.0.1<' in html
    assert "Parameters: TAG=v2.0.1, TICKET=C-7" in html


def test_environment_select_brings_the_runbooks_parameter_fields(client, ic, pversion, version):
    client.force_login(ic)
    html = client.get(reverse("incidents:environments"), {"version": pversion.pk}).content.decode()
    assert 'id="open-parameters"' in html and 'hx-swap-oob="true"' in html
    assert 'name="param_TICKET"' in html
    html = client.get(reverse("incidents:environments"), {"version": version.pk}).content.decode()
    assert 'name="param_TICKET"' not in html


OPEN = {"runbook": "params", "environment": "staging", "title": "P", "severity": "sev2"}


def test_api_opens_with_parameters_and_refuses_a_bad_one(api_as, ic, pversion):
    api = api_as(ic)
    bad = api.post("/incidents", OPEN | {"parameters": {"TICKET": "x", "TAG": "latest"}})
    assert bad.status_code == 400
    assert bad.json()["detail"] == f"Parameter TAG: does not match the pattern {TAG_PATTERN}."
    typed = api.post("/incidents", OPEN | {"parameters": {"TICKET": 5}})
    assert typed.status_code == 422
    ok = api.post("/incidents", OPEN | {"parameters": {"TICKET": "CHG-9"}})
    assert ok.status_code == 201
    assert Incident.objects.get().parameters == {"TAG": "v1.0.0", "TICKET": "CHG-9"}


def test_mig002_asks_for_previous_tag_with_a_pattern(ic):
    call_command("load_runbooks", verbosity=0)
    version = latest_version("mig-002")
    assert version is not None
    [param] = version.parsed().parameters
    assert (param.name, param.default, param.pattern) == ("PREVIOUS_TAG", "v1.4.2", TAG_PATTERN)
    for env in version.parsed().environments:
        assert "PREVIOUS_TAG" not in env.variables
    with pytest.raises(services.ServiceError, match="Parameter PREVIOUS_TAG: does not match"):
        services.open_incident(
            version=version, environment="demo", title="x", severity="sev1", is_drill=True,
            opened_by=ic, parameters={"PREVIOUS_TAG": "$(reboot)"},
        )  # fmt: skip


# --- the runbook format ------------------------------------------------------------


def _problems(extra: str) -> list[tuple[str, str]]:
    text = VALID_RUNBOOK + extra
    parsed = parse_runbook(text, path="rb.yaml")
    return [(p.field, p.message) for p in check_references(parsed.spec, parsed.locator)]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("PATH", "Ripcord sets it"),
        ("LD_PRELOAD", "LD_* variables"),
        ("BASH_ENV", "bash runs the file"),
        ("HOME", "Ripcord sets it"),
    ],
)
def test_dangerous_names_are_refused_as_parameters(name, reason):
    [(field, message)] = _problems(f"parameters:\n  - {{name: {name}}}\n")
    assert field == "parameters[0].name"
    assert message.startswith(f"'{name}' may not be a parameter: {reason}")


def test_a_secret_may_not_be_a_parameter():
    [(field, message)] = _problems("parameters:\n  - {name: PGPASSWORD}\n")
    assert field == "parameters[0].name"
    assert "is a secret in environment 'staging': a secret may not be a parameter" in message


def test_a_default_must_match_its_own_pattern():
    with pytest.raises(Exception, match="does not match the pattern"):
        parse_runbook(
            VALID_RUNBOOK + "parameters:\n  - {name: TAG, default: latest, pattern: '^v1$'}\n",
            path="rb.yaml",
        )
