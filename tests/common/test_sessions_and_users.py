"""The session store and auth backend with compiled reads behave as Django's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from common.auth_backend import Backend
from common.sessions import SessionStore

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _who(client: Client) -> str:
    """The user name the server sees for this client's session ("" for nobody)."""
    return _who_has(client.cookies["sessionid"].value if "sessionid" in client.cookies else None)


def _who_has(session_key: str | None) -> str:
    class Request:
        session = SessionStore(session_key)

    user = get_user(Request())  # type: ignore[arg-type]
    return user.get_username() if user.is_authenticated else ""


def test_a_logged_in_session_is_its_user_until_it_expires(alice):
    client = Client()
    client.force_login(alice)
    assert _who(client) == "alice"
    key = client.cookies["sessionid"].value
    Session.objects.filter(session_key=key).update(
        expire_date=timezone.now() - timedelta(seconds=1)
    )
    assert _who(client) == ""


def test_an_unknown_or_empty_session_key_is_nobody(db):
    assert SessionStore("no-such-session-key-0123456789").load() == {}
    assert SessionStore(None).load() == {}


def test_an_inactive_or_missing_user_is_nobody(alice, bob):
    backend = Backend()
    assert backend.get_user(alice.pk) == alice
    assert backend.get_user(str(bob.pk)) == bob  # the session keeps the id as text
    assert backend.get_user("not a number") is None
    assert backend.get_user(10**6) is None
    alice.is_active = False
    alice.save()
    assert backend.get_user(alice.pk) is None


def test_the_session_names_its_user_and_its_hash_must_match(alice, bob):
    def session(user_id: int, auth_hash: str) -> str:
        store = SessionStore()
        store[SESSION_KEY] = str(user_id)
        store[BACKEND_SESSION_KEY] = "common.auth_backend.Backend"
        store[HASH_SESSION_KEY] = auth_hash
        store.create()
        assert store.session_key
        return store.session_key

    assert _who_has(session(bob.pk, bob.get_session_auth_hash())) == "bob"
    assert _who_has(session(alice.pk, alice.get_session_auth_hash())) == "alice"
    # bob's id with alice's password hash: Django logs it out
    assert _who_has(session(bob.pk, alice.get_session_auth_hash())) == ""


def test_a_session_made_before_this_backend_still_logs_in(alice):
    client = Client()
    client.force_login(alice, backend="django.contrib.auth.backends.ModelBackend")
    assert _who(client) == "alice"


def test_a_wrong_password_is_checked_once(alice, monkeypatch):
    """The model backend, listed after ours for old sessions, does not check it again."""
    from django.contrib.auth import authenticate
    from django.contrib.auth.models import User

    checks: list[str] = []
    real = User.check_password

    def counted(self, raw_password):
        checks.append(raw_password)
        return real(self, raw_password)

    monkeypatch.setattr(User, "check_password", counted)
    assert authenticate(username="alice", password="wrong") is None
    assert authenticate(username="alice", password="alice-password") == alice
    assert checks == ["wrong", "alice-password"]
