from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from common.models import TOKEN_PREFIX, ApiToken, hash_token
from common.tokens import authenticate_token, create_token, revoke_token

pytestmark = pytest.mark.django_db


def test_create_token_stores_only_hash_and_hint(alice):
    token, raw = create_token(alice, "  CI pipeline ")

    token.refresh_from_db()
    assert raw.startswith(TOKEN_PREFIX)
    assert token.name == "CI pipeline"
    assert token.key_sha256 == hash_token(raw)
    assert raw.startswith(token.hint)
    assert len(token.hint) == 12
    assert not ApiToken.objects.filter(key_sha256=raw).exists()


def test_create_token_issues_distinct_tokens(alice):
    (_, first), (_, second) = create_token(alice, "a"), create_token(alice, "b")
    assert first != second


def test_create_token_rejects_blank_name(alice):
    with pytest.raises(ValidationError):
        create_token(alice, "   ")
    assert not ApiToken.objects.exists()


def test_authenticate_token_returns_owner(alice):
    _, raw = create_token(alice, "cli")
    assert authenticate_token(raw) == alice


@pytest.mark.parametrize(
    "raw", ["", "rpc_", "rpc_not-a-real-token", "Bearer rpc_x", "x" * 5000, "rpc_" + "a" * 200]
)
def test_authenticate_token_refuses_unknown_tokens(alice, raw):
    create_token(alice, "cli")
    assert authenticate_token(raw) is None


def test_authenticate_token_refuses_inactive_user(alice):
    _, raw = create_token(alice, "cli")
    alice.is_active = False
    alice.save()
    assert authenticate_token(raw) is None


def test_authenticate_token_records_use_at_most_once_a_minute(alice):
    token, raw = create_token(alice, "cli")
    assert token.last_used_at is None

    authenticate_token(raw)
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None

    authenticate_token(raw)
    token.refresh_from_db()
    assert token.last_used_at == first_use  # within the minute: no write

    stale = timezone.now() - timedelta(minutes=2)
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=stale)
    authenticate_token(raw)
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert token.last_used_at > stale


def test_revoke_token_deletes_it_and_it_stops_working(alice):
    token, raw = create_token(alice, "cli")
    revoke_token(alice, token.pk)
    assert not ApiToken.objects.filter(pk=token.pk).exists()
    assert authenticate_token(raw) is None


def test_revoke_token_refuses_other_users_token(alice, bob):
    token, raw = create_token(alice, "cli")
    with pytest.raises(ApiToken.DoesNotExist):
        revoke_token(bob, token.pk)
    assert authenticate_token(raw) == alice
