from __future__ import annotations

import pytest
from django.urls import reverse

from tests.common.conftest import URLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def test_login_page_renders_form(client):
    response = client.get(reverse("login"))
    assert response.status_code == 200
    assert b'name="username"' in response.content
    assert b'name="password"' in response.content
    assert b"csrfmiddlewaretoken" in response.content


def test_login_signs_in_and_follows_next(client, alice):
    tokens_url = reverse("common:tokens")
    response = client.post(
        reverse("login"),
        {"username": "alice", "password": "alice-password", "next": tokens_url},
    )
    assert response.status_code == 302
    assert response["Location"] == tokens_url


def test_login_shows_error_for_wrong_password(client, alice):
    response = client.post(reverse("login"), {"username": "alice", "password": "nope"})
    assert response.status_code == 200
    assert b'role="alert"' in response.content
    assert "_auth_user_id" not in client.session
