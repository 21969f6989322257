"""Notices (common/notify.py) reach the right sockets of /ws/notify/, after commit only."""

from __future__ import annotations

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.contrib.auth.models import AnonymousUser
from django.db import connections, transaction

from common import notify
from common.consumers import REFUSED
from common.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]
app = URLRouter(websocket_urlpatterns)


@pytest_asyncio.fixture(autouse=True)
async def _close_database_thread_connection():
    yield
    await sync_to_async(connections.close_all)()


async def socket_of(user) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(app, "/ws/notify/")
    comm.scope["user"] = user
    connected, code = await comm.connect(timeout=5)
    assert connected, f"{user} refused ({code})"
    return comm


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
async def test_anonymous_users_and_outsiders_are_refused(who, outsider):
    comm = WebsocketCommunicator(app, "/ws/notify/")
    comm.scope["user"] = AnonymousUser() if who == "anonymous" else outsider
    assert await comm.connect(timeout=5) == (False, REFUSED)


async def test_a_notice_reaches_its_people_only(ic, backend, viewer):
    sockets = {u.username: await socket_of(u) for u in (ic, backend, viewer)}
    try:
        await sync_to_async(notify.notify_users)(
            [backend.pk, viewer.pk, None, backend.pk],
            "unblocked",
            {"title": "Your step can start", "url": "/incidents/1/"},
        )
        for name in ("backend", "pm"):
            frame = await sockets[name].receive_json_from(timeout=2)
            assert frame == {
                "kind": "unblocked",
                "payload": {"title": "Your step can start", "url": "/incidents/1/"},
            }
            assert await sockets[name].receive_nothing(timeout=0.2)  # once, though named twice
        assert await sockets["ic"].receive_nothing(timeout=0.2)
    finally:
        for comm in sockets.values():
            await comm.disconnect()


async def test_a_group_notice_reaches_the_capability_group(ic, backend):
    ic_socket, backend_socket = await socket_of(ic), await socket_of(backend)
    try:
        await sync_to_async(notify.notify_group)("commanders", "proposal", {"title": "Alert"})
        assert (await ic_socket.receive_json_from(timeout=2))["kind"] == "proposal"
        assert await backend_socket.receive_nothing(timeout=0.2)
    finally:
        await ic_socket.disconnect()
        await backend_socket.disconnect()


async def test_nothing_leaves_when_the_write_rolls_back(ic):
    comm = await socket_of(ic)

    @sync_to_async
    def write_then_fail() -> None:
        with transaction.atomic():
            notify.notify_users([ic.pk], "resolved", {"title": "never"})
            transaction.set_rollback(True)

    try:
        await write_then_fail()
        assert await comm.receive_nothing(timeout=0.3)
    finally:
        await comm.disconnect()
