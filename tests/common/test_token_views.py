from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from common.models import ApiToken
from common.tokens import authenticate_token, create_token
from tests.common.conftest import URLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


def test_tokens_page_redirects_anonymous_to_login(client):
    url = reverse("common:tokens")
    for response in (client.get(url), client.post(url, {"name": "x"})):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
    assert not ApiToken.objects.exists()


def test_token_revoke_redirects_anonymous_to_login(client, alice):
    token, _ = create_token(alice, "cli")
    response = client.post(reverse("common:token_revoke", args=[token.pk]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_tokens_page_lists_only_own_tokens(client, alice, bob):
    create_token(alice, "alice-laptop")
    create_token(bob, "bob-secret-pipeline")
    client.force_login(alice)

    response = client.get(reverse("common:tokens"))

    assert response.status_code == 200
    assert b"alice-laptop" in response.content
    assert b"bob-secret-pipeline" not in response.content


def test_tokens_page_shows_new_raw_token_once(client, alice):
    client.force_login(alice)

    response = client.post(reverse("common:tokens"), {"name": "ci"})

    assert response.status_code == 200
    token = ApiToken.objects.get(user=alice)
    raw = response.context["raw_token"]
    assert authenticate_token(raw) == alice
    assert raw.encode() in response.content
    assert "no-store" in response["Cache-Control"]
    # The next visit lists the token by its hint, never the token again.
    again = client.get(reverse("common:tokens"))
    assert raw.encode() not in again.content
    assert token.hint.encode() in again.content


def test_tokens_page_rerenders_form_errors_without_creating(client, alice):
    client.force_login(alice)
    response = client.post(reverse("common:tokens"), {"name": ""})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert response.context["raw_token"] is None
    assert not ApiToken.objects.exists()


def test_token_revoke_deletes_own_token(client, alice):
    token, _ = create_token(alice, "cli")
    client.force_login(alice)

    response = client.post(reverse("common:token_revoke", args=[token.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("common:tokens")
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_token_revoke_returns_404_for_other_users_token(client, alice, bob):
    token, _ = create_token(alice, "cli")
    client.force_login(bob)

    response = client.post(reverse("common:token_revoke", args=[token.pk]))

    assert response.status_code == 404
    assert ApiToken.objects.filter(pk=token.pk).exists()


def test_token_revoke_refuses_get(client, alice):
    token, _ = create_token(alice, "cli")
    client.force_login(alice)
    assert client.get(reverse("common:token_revoke", args=[token.pk])).status_code == 405
    assert ApiToken.objects.filter(pk=token.pk).exists()


@pytest.mark.parametrize("view", ["create", "revoke"])
def test_token_posts_require_csrf_token(alice, view):
    token, _ = create_token(alice, "cli")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    if view == "create":
        response = client.post(reverse("common:tokens"), {"name": "sneaky"})
    else:
        response = client.post(reverse("common:token_revoke", args=[token.pk]))

    assert response.status_code == 403
    assert list(ApiToken.objects.values_list("pk", flat=True)) == [token.pk]


def test_token_create_accepts_post_with_csrf_token(alice):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    page = client.get(reverse("common:tokens"))
    csrf = page.cookies["csrftoken"].value

    response = client.post(reverse("common:tokens"), {"name": "ok", "csrfmiddlewaretoken": csrf})

    assert response.status_code == 200
    assert ApiToken.objects.filter(user=alice, name="ok").exists()
