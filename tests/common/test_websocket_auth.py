"""The websocket's user comes from the session, by Django's rules (common/websocket_auth.py)."""

from __future__ import annotations

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from common.websocket_auth import LazyAuthMiddlewareStack
from incidents.consumers import REFUSED
from incidents.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]
app = LazyAuthMiddlewareStack(URLRouter(websocket_urlpatterns))


@pytest_asyncio.fixture(autouse=True)
async def _close_database_thread_connection():
    yield
    await sync_to_async(connections.close_all)()


@sync_to_async
def signed_in(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


async def connect(incident, cookie: str | None) -> tuple[bool, int | None]:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    comm = WebsocketCommunicator(app, f"/ws/incidents/{incident.pk}/", headers=headers)
    connected, code = await comm.connect(timeout=5)
    if connected:
        await comm.disconnect()
    return connected, code


async def test_the_session_user_is_let_in(incident, viewer):
    connected, _ = await connect(incident, await signed_in(viewer))
    assert connected


@pytest.mark.parametrize("cookie", [None, "sessionid=not-a-session"])
async def test_no_session_is_anonymous_and_refused(incident, cookie):
    assert await connect(incident, cookie) == (False, REFUSED)


async def test_a_session_from_before_a_password_change_is_refused(incident, viewer):
    cookie = await signed_in(viewer)
    viewer.set_password("a new one, after a leak")
    await sync_to_async(viewer.save)()
    assert await connect(incident, cookie) == (False, REFUSED)
