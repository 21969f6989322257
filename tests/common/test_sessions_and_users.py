"""The session store and auth backend with compiled reads behave as Django's own."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import SESSION_KEY, get_user
from django.contrib.sessions.models import Session
from django.test import Client
from django.utils import timezone

from common.auth_backend import Backend
from common.sessions import SessionStore

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(60)]


def _who(client: Client) -> str:
    """The user name the server sees for this client's session ("" for nobody)."""
    store = SessionStore(
        client.cookies["sessionid"].value if "sessionid" in client.cookies else None
    )

    class Request:
        session = store

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


def test_a_session_changed_to_another_user_id_follows_it(alice, bob):
    client = Client()
    client.force_login(alice)
    store = SessionStore(client.cookies["sessionid"].value)
    store[SESSION_KEY] = str(bob.pk)
    store.save()
    assert _who(client) == ""  # the session's hash was alice's password: Django logs it out
