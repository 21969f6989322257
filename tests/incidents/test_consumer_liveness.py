"""The socket tells its page whether pushes reach it (incidents/consumers.py, common/layer_watch.py).

The layer is an in-memory one with switches (tests/flaky_layer.py); the browser
test with a real Redis stopped and started is tests/integration/test_browser_live_outage.py.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.db import connections

from common import layer_watch
from incidents.consumers import LAYER_DOWN
from incidents.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True), pytest.mark.timeout(30)]
app = URLRouter(websocket_urlpatterns)
WAIT = 5.0  # seconds: a state change is told within one check (50 ms) and a 0.5 s timeout


@pytest.fixture
def layer(settings, monkeypatch):
    settings.CHANNEL_LAYERS = {"default": {"BACKEND": "tests.flaky_layer.FlakyLayer"}}
    settings.RIPCORD_LIVE_CHECK_MS = 50
    settings.RIPCORD_LIVE_BEAT_SECONDS = 1
    monkeypatch.setattr(layer_watch, "CHECK_TIMEOUT", 0.5)
    monkeypatch.setattr(layer_watch, "RECOVERY_TIMEOUT", 0.5)
    return get_channel_layer()


@pytest_asyncio.fixture(autouse=True)
async def _close_database_thread_connection():
    """The access check's thread keeps its connection; close it, or the test database stays in use."""
    yield
    await sync_to_async(connections.close_all)()


async def open_socket(user, incident) -> WebsocketCommunicator:
    comm = WebsocketCommunicator(app, f"/ws/incidents/{incident.pk}/")
    comm.scope["user"] = user
    connected, code = await comm.connect(timeout=5)
    assert connected, code
    assert await state(comm) == {"live": True, "beat": 1}
    return comm


async def state(comm: WebsocketCommunicator) -> dict[str, Any]:
    return dict(json.loads(await comm.receive_from(timeout=WAIT)))


async def until(comm: WebsocketCommunicator, wanted: dict[str, Any]) -> None:
    """Frames until ``wanted``; only beats of the state before it may come first."""
    seen = []
    async with asyncio.timeout(WAIT):
        while (frame := await state(comm)) != wanted:
            seen.append(frame)
    assert all(frame == {"live": not wanted["live"]} for frame in seen), seen


async def test_beats_keep_coming_while_the_layer_delivers(layer, incident, viewer):
    comm = await open_socket(viewer, incident)
    assert await state(comm) == {"live": True}
    assert await state(comm) == {"live": True}
    await comm.disconnect()


@pytest.mark.parametrize("failure", ["down", "lossy"])
async def test_every_page_is_told_of_an_outage_and_to_resync_after(
    layer, incident, viewer, backend, failure
):
    """Sends that fail (Redis refused) or vanish (a subscriber away) are both an outage."""
    pages = [await open_socket(viewer, incident), await open_socket(backend, incident)]
    setattr(layer, failure, True)
    for comm in pages:
        await until(comm, {"live": False})
    setattr(layer, failure, False)
    for comm in pages:
        await until(comm, {"live": True, "resync": True})
        assert await state(comm) == {"live": True}  # beats again, no second resync
    for comm in pages:
        await comm.disconnect()


async def test_a_page_that_joins_after_an_outage_is_not_told_to_resync(
    layer, incident, viewer, backend
):
    """Its own first fetch came after the outage: only the pages before it missed pushes."""
    before = await open_socket(viewer, incident)
    layer.lossy = True
    await until(before, {"live": False})
    layer.lossy = False
    await until(before, {"live": True, "resync": True})
    after = await open_socket(backend, incident)
    assert await state(after) == {"live": True}
    for comm in (before, after):
        await comm.disconnect()


async def test_a_socket_is_refused_while_the_layer_is_down(layer, incident, viewer):
    layer.down = True
    comm = WebsocketCommunicator(app, f"/ws/incidents/{incident.pk}/")
    comm.scope["user"] = viewer
    assert await comm.connect(timeout=5) == (False, LAYER_DOWN)


async def test_the_checks_stop_with_the_last_socket(layer, incident, viewer, backend):
    pages = [await open_socket(viewer, incident), await open_socket(backend, incident)]
    loop = asyncio.get_running_loop()
    watch = layer_watch._WATCHES[loop]
    await pages[0].disconnect()
    assert layer_watch._WATCHES.get(loop) is watch and watch.listeners
    await pages[1].disconnect()
    assert loop not in layer_watch._WATCHES and not watch.listeners
    assert not [t for t in asyncio.all_tasks() if "LayerWatch" in repr(t.get_coro())]
