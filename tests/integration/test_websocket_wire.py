"""What the production server puts on the wire for an incident's page (uvicorn, Redis layer)."""

from __future__ import annotations

import json

import pytest
from websockets.sync.client import connect
from websockets.typing import Origin

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(60)]


def test_pushes_go_uncompressed_even_to_a_browser_that_offers_deflate(
    asgi_server, session_cookie, incident, viewer
):
    """permessage-deflate is off (compose.yaml, .env.example): per-socket compression was
    most of a push's CPU at 500 viewers (bench/README.md, "permessage-deflate")."""
    url = asgi_server.url.replace("http://", "ws://") + f"/ws/incidents/{incident.pk}/"
    cookie = session_cookie(viewer, asgi_server.url)["value"]
    with connect(
        url,
        additional_headers={"Cookie": f"sessionid={cookie}"},
        origin=Origin(asgi_server.url),
        compression="deflate",  # offered, as every browser does
        open_timeout=10,
    ) as ws:
        assert ws.request is not None and ws.response is not None
        assert "permessage-deflate" in ws.request.headers["Sec-WebSocket-Extensions"]
        assert "Sec-WebSocket-Extensions" not in ws.response.headers
        assert json.loads(ws.recv(timeout=10))["live"] is True
