"""ASGI entry point: HTTP goes to Django, websockets to the incident and notice consumers."""

from __future__ import annotations

import asyncio
import gc
import os
from typing import Any

from django.conf import settings
from django.core.asgi import get_asgi_application
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished
from django.db import connections

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django_asgi_app = get_asgi_application()


def close_request_connections(sender: type[ASGIHandler], **kwargs: object) -> None:
    """Close the database connections of an HTTP request that has ended.

    Django runs each ASGI request's sync code on a thread of its own that ends with
    the request, so a persistent connection (CONN_MAX_AGE) kept for reuse never is: it
    stays open until the garbage collector happens to find it, which the thresholds
    below make rare, and one leaked per request until PostgreSQL refused clients
    (Django ticket #33497; bench/README.md). This runs on the request's own thread,
    after a streamed response has been read. Long-lived threads keep their
    connections: the websocket consumers' database thread, Celery workers.
    """
    connections.close_all()


request_finished.connect(
    close_request_connections, sender=ASGIHandler, dispatch_uid="ripcord.close_request_db"
)

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from common.routing import websocket_urlpatterns as notify_urlpatterns  # noqa: E402
from common.websocket_auth import LazyAuthMiddlewareStack  # noqa: E402
from incidents import push_loop  # noqa: E402
from incidents.routing import websocket_urlpatterns  # noqa: E402
from triggers.asgi import ReceiverBodyLimit  # noqa: E402

router = ProtocolTypeRouter(
    {
        # Alert receivers: bodies over RIPCORD_RECEIVER_MAX_BODY get 413 before Django reads them.
        "http": ReceiverBodyLimit(
            django_asgi_app, lambda: int(getattr(settings, "RIPCORD_RECEIVER_MAX_BODY", 1 << 20))
        ),
        "websocket": AllowedHostsOriginValidator(
            LazyAuthMiddlewareStack(URLRouter(websocket_urlpatterns + notify_urlpatterns))
        ),
    }
)


async def application(scope: Any, receive: Any, send: Any) -> None:
    """The router, on a loop that also renders and sends the pushes (incidents/push_loop.py)."""
    push_loop.attach(asyncio.get_running_loop())
    await router(scope, receive, send)


# Full collections at hundreds of sockets made the fan-out's slow tail (bench/live_fanout.py):
# keep start-up objects out of the young generations and collect less often.
gc.freeze()
gc.set_threshold(50_000, 20, 100)
