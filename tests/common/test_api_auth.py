from __future__ import annotations

import pytest
from django.test import Client, RequestFactory
from ninja.errors import AuthenticationError

from common.api_auth import TokenAuth, api_auth
from common.tokens import create_token
from tests.common.conftest import URLS

pytestmark = pytest.mark.django_db


def test_token_auth_returns_user_and_sets_request_user(alice):
    _, raw = create_token(alice, "cli")
    request = RequestFactory().get("/", HTTP_AUTHORIZATION=f"Bearer {raw}")

    assert TokenAuth()(request) == alice
    assert request.user == alice


def test_token_auth_refuses_unknown_token(alice):
    # Raises (401) rather than falling through to the session and its CSRF check.
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer rpc_nope")
    with pytest.raises(AuthenticationError):
        TokenAuth()(request)


def test_api_auth_tries_token_then_session():
    assert [type(auth).__name__ for auth in api_auth] == ["TokenAuth", "SessionAuth"]


@pytest.mark.urls(URLS)
def test_api_accepts_bearer_token_without_session(client, alice):
    _, raw = create_token(alice, "cli")
    response = client.get("/api/test/whoami", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200
    assert response.json() == {"username": "alice"}


@pytest.mark.urls(URLS)
def test_api_bearer_post_needs_no_csrf_token(alice):
    _, raw = create_token(alice, "cli")
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/test/echo", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 200


@pytest.mark.urls(URLS)
@pytest.mark.parametrize("header", [None, "Bearer rpc_wrong", "Basic YWxpY2U6eA=="])
def test_api_refuses_missing_or_bad_credentials(client, alice, header):
    extra = {"HTTP_AUTHORIZATION": header} if header else {}
    assert client.get("/api/test/whoami", **extra).status_code == 401


@pytest.mark.urls(URLS)
def test_api_accepts_browser_session(client, alice):
    client.force_login(alice)
    response = client.get("/api/test/whoami")
    assert response.status_code == 200
    assert response.json() == {"username": "alice"}


@pytest.mark.urls(URLS)
def test_api_session_post_requires_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.post("/api/test/echo").status_code == 403


@pytest.mark.urls(URLS)
def test_api_refuses_token_of_inactive_user(client, alice):
    _, raw = create_token(alice, "cli")
    alice.is_active = False
    alice.save()
    response = client.get("/api/test/whoami", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
