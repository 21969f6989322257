from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from common.models import ApiToken, hash_token
from common.tokens import authenticate_token
from tests.common.conftest import URLS

pytestmark = [pytest.mark.django_db, pytest.mark.urls(URLS)]


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser("root", password="root-password"))
    return client


def test_admin_add_token_generates_key_and_shows_it_once(admin_client, alice):
    response = admin_client.post(
        reverse("admin:common_apitoken_add"), {"user": alice.pk, "name": "bridge"}, follow=True
    )

    assert response.status_code == 200
    token = ApiToken.objects.get(user=alice, name="bridge")
    words = " ".join(str(m) for m in response.context["messages"]).split()
    [raw] = [word for word in words if word.startswith("rpc_")]
    assert hash_token(raw) == token.key_sha256
    assert authenticate_token(raw) == alice
    again = admin_client.get(reverse("admin:common_apitoken_changelist"))
    assert raw.encode() not in again.content
    assert token.hint.encode() in again.content


def test_admin_change_token_keeps_key(admin_client, alice):
    from common.tokens import create_token

    token, raw = create_token(alice, "old name")
    admin_client.post(reverse("admin:common_apitoken_change", args=[token.pk]), {"name": "new"})

    token.refresh_from_db()
    assert token.name == "new"
    assert authenticate_token(raw) == alice
