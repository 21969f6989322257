from __future__ import annotations

import json

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.routing import URLRouter
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db import connections

from incidents import events, services
from incidents.routing import websocket_urlpatterns

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]
app = URLRouter(websocket_urlpatterns)


@pytest_asyncio.fixture(autouse=True)
async def _close_database_thread_connection():
    """The access check's thread keeps its connection; close it, or the test database stays in use."""
    yield
    await sync_to_async(connections.close_all)()


async def open_socket(user, incident_id):
    """Connect; once accepted, the first frame is the live state, taken off here."""
    comm = WebsocketCommunicator(app, f"/ws/incidents/{incident_id}/")
    comm.scope["user"] = user
    connected, code = await comm.connect(timeout=5)
    if connected:
        assert json.loads(await comm.receive_from(timeout=5)) == {
            "live": True,
            "beat": settings.RIPCORD_LIVE_BEAT_SECONDS,
        }
    return comm, connected, code


@pytest.mark.parametrize("who", ["anonymous", "outsider"])
async def test_consumer_refuses_people_who_may_not_see(incident, outsider, who):
    user = AnonymousUser() if who == "anonymous" else outsider
    _, connected, code = await open_socket(user, incident.pk)
    assert (connected, code) == (False, 4403)


async def test_consumer_refuses_unknown_incident(viewer):
    _, connected, code = await open_socket(viewer, 999_999)
    assert (connected, code) == (False, 4403)


async def test_viewer_gets_view_fragments_and_responder_gets_act(incident, viewer, backend, step):
    view_comm, ok1, _ = await open_socket(viewer, incident.pk)
    act_comm, ok2, _ = await open_socket(backend, incident.pk)
    assert ok1 and ok2
    target = await sync_to_async(step)("disable-v1")
    # A real write, committed: the on-commit hook renders and sends through the layer.
    await sync_to_async(services.complete_step)(step_id=target.pk, by=backend)
    view_html = await view_comm.receive_from(timeout=5)
    act_html = await act_comm.receive_from(timeout=5)
    assert f'id="step-{target.pk}"' in view_html and "hx-post" not in view_html
    assert f'id="step-{target.pk}"' in act_html and "hx-post" in act_html
    await view_comm.disconnect()
    await act_comm.disconnect()


async def test_consumer_ignores_client_messages(incident, backend):
    comm, connected, _ = await open_socket(backend, incident.pk)
    assert connected
    await comm.send_to(text_data="complete everything")
    assert await comm.receive_nothing(timeout=0.2)
    await comm.disconnect()


async def test_disconnected_socket_leaves_its_group(incident, viewer):
    comm, connected, _ = await open_socket(viewer, incident.pk)
    assert connected
    await comm.disconnect()
    layer = get_channel_layer()
    group = events.incident_group(incident.pk, "view")
    assert not layer.groups.get(group)


async def test_sockets_of_one_audience_share_one_channel_and_each_gets_the_push(incident, viewer):
    """common.fanout: the process subscribes once per audience, not once per socket."""
    sockets = [(await open_socket(viewer, incident.pk))[0] for _ in range(3)]
    layer = get_channel_layer()
    group = events.incident_group(incident.pk, "view")
    assert len(layer.groups[group]) == 1
    await events.agroup_send(group, events.html_push('<div id="x">pushed</div>'))
    for comm in sockets:
        assert await comm.receive_from(timeout=5) == '<div id="x">pushed</div>'
    for comm in sockets:
        await comm.disconnect()
    assert not layer.groups.get(group)
