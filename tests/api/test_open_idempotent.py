"""Opening an incident is idempotent: the API's Idempotency-Key, the page form's token."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from common.capabilities import COMMANDERS
from incidents.models import Incident
from incidents.services.opening import open_incident_once
from tests.api.conftest import BASE, make_token
from tests.factories import make_user

pytestmark = pytest.mark.django_db

OPEN = {"runbook": "small", "environment": "staging", "title": "Checkout is down"}


def post(token: str, body: dict[str, str], key: str | None):
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return Client().post(
        f"{BASE}/incidents", body, content_type="application/json", headers=headers
    )


def test_a_retry_with_the_same_key_answers_the_same_incident(ic, version):
    token = make_token(ic)
    first = post(token, OPEN, "retry-7f3a")
    again = post(token, OPEN, "retry-7f3a")

    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    assert Incident.objects.count() == 1


def test_without_a_key_or_with_another_key_each_request_opens_one(ic, version):
    token = make_token(ic)
    assert post(token, OPEN, None).status_code == 201
    assert post(token, OPEN, None).status_code == 201
    assert post(token, OPEN, "a").status_code == 201
    assert post(token, OPEN, "b").status_code == 201
    assert Incident.objects.count() == 4


def test_a_key_is_the_callers_own(ic, version):
    other = make_user("ic2", COMMANDERS)
    assert post(make_token(ic), OPEN, "shared").status_code == 201
    assert post(make_token(other), OPEN, "shared").status_code == 201
    assert Incident.objects.count() == 2


def test_the_same_key_with_other_details_is_a_conflict(ic, version):
    token = make_token(ic)
    post(token, OPEN, "k1")
    response = post(token, OPEN | {"title": "Something else"}, "k1")
    assert response.status_code == 409
    assert "other details" in response.json()["detail"]
    assert Incident.objects.count() == 1


@pytest.mark.parametrize("key", ["x" * 65, "tab\tinside", "é"])
def test_a_malformed_key_is_422(ic, version, key):
    response = post(make_token(ic), OPEN, key)
    assert response.status_code in (400, 422), response.content  # é is refused by HTTP itself
    assert Incident.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.timeout(60)
def test_two_requests_at_once_with_one_key_open_one_incident(ic, version):
    results: list[tuple[int, bool]] = []
    barrier = threading.Barrier(2)

    def open_() -> None:
        try:
            barrier.wait()
            incident, opened = open_incident_once(
                version=version,
                environment="staging",
                title="race",
                severity="sev2",
                is_drill=False,
                opened_by=ic,
                open_key="race-1",
            )
            results.append((incident.pk, opened))
        finally:
            connection.close()

    threads = [threading.Thread(target=open_) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({pk for pk, _ in results}) == 1
    assert sorted(opened for _, opened in results) == [False, True]
    assert Incident.objects.count() == 1


def test_the_form_sent_twice_opens_one_incident(client, ic, version):
    client.force_login(ic)
    page = client.get(reverse("incidents:open")).content.decode()
    token = page.split('name="open_key" value="', 1)[1].split('"', 1)[0]
    form = {
        "version": version.pk,
        "environment": "staging",
        "title": "Twice",
        "severity": "sev2",
        "open_key": token,
    }
    first = client.post(reverse("incidents:open"), form)
    second = client.post(reverse("incidents:open"), form, follow=True)

    assert first.status_code == 302
    assert second.redirect_chain[-1][0] == first["Location"]
    assert "opened this incident already" in second.content.decode()
    assert Incident.objects.count() == 1


def test_the_same_opening_sent_again_with_a_new_form_token_opens_nothing_new(client, ic, version):
    """Back, then send: the browser fetched the form again, so its token is new."""
    client.force_login(ic)
    form = {"version": version.pk, "environment": "staging", "title": "Again", "severity": "sev2"}
    first = client.post(reverse("incidents:open"), form | {"open_key": "one"})
    again = client.post(reverse("incidents:open"), form | {"open_key": "two"}, follow=True)
    other = client.post(reverse("incidents:open"), form | {"open_key": "3", "title": "Other"})

    assert again.redirect_chain[-1][0] == first["Location"]
    assert "opened this incident already" in again.content.decode()
    assert other.status_code == 302 and other["Location"] != first["Location"]
    assert Incident.objects.count() == 2


def test_a_forged_form_token_is_refused_at_the_form(client, ic, version):
    client.force_login(ic)
    form = {"version": version.pk, "environment": "staging", "title": "x", "severity": "sev2"}
    answer = client.post(reverse("incidents:open"), form | {"open_key": "<script>"})
    assert answer.status_code == 200
    assert "malformed" in answer.content.decode()
    assert Incident.objects.count() == 0
