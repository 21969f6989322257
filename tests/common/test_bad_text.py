"""NUL characters in form fields and query strings: a 400 naming the field, never a 500.

Browsers encode what a person types; a NUL only arrives from a script or a paste,
and PostgreSQL refuses it in text. One middleware refuses it for every page
(sign-in, tokens, the admin, the incident pages) before any view runs.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from common.models import ApiToken
from tests.common.conftest import URLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def refused(response, field: str, where: str = "field") -> None:
    assert response.status_code == 400, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    assert response.content.decode() == (
        f"Refused: the {where} {field!r} contains a NUL character (U+0000), "
        "which cannot be stored.\n"
    )


@pytest.mark.parametrize("field", ["username", "password"])
def test_sign_in_with_a_nul_is_refused_naming_the_field(alice, field):
    data = {"username": "alice", "password": "alice-password"} | {field: "alice\x00"}

    response = Client().post(reverse("login"), data)

    refused(response, field)
    assert "_auth_user_id" not in Client().session


def test_a_nul_in_a_token_name_is_refused_and_no_token_is_made(alice):
    client = Client()
    client.force_login(alice)

    refused(client.post(reverse("common:tokens"), {"name": "ci\x00"}), "name")
    assert ApiToken.objects.count() == 0


def test_a_nul_in_a_field_name_is_refused_too(alice):
    client = Client()
    client.force_login(alice)

    refused(client.post(reverse("common:tokens"), {"na\x00me": "ci"}), "na\x00me")


def test_a_nul_in_a_query_string_is_refused_naming_the_parameter(alice):
    alice.is_staff = alice.is_superuser = True
    alice.save()
    client = Client()
    client.force_login(alice)

    refused(client.get("/admin/auth/user/?q=a%00b"), "q", "query parameter")


def test_the_api_judges_its_own_inputs(alice):
    # The API answers malformed input with its documented 422 (tests/api/test_bad_text.py).
    client = Client()
    client.force_login(alice)

    assert client.get("/api/test/whoami?x=%00").status_code == 200


def test_ordinary_text_passes(alice):
    client = Client()
    client.force_login(alice)

    response = client.post(reverse("common:tokens"), {"name": "naïve “CI” 🚀"})

    assert response.status_code == 200
    assert ApiToken.objects.get().name == "naïve “CI” 🚀"
