"""Who is on a websocket: the session's user, looked up where it is first needed.

Channels' ``AuthMiddlewareStack`` looks the user up before the consumer runs, in a
trip of its own to the database thread (one thread for every socket of the
process). Here ``scope["user"]`` is a lazy object instead, resolved by the
consumer's own database call (``incidents.consumers``), so a connect makes one trip
there, not two. The rules are Django's own (``django.contrib.auth.get_user``: the
session's user, its session hash checked, anonymous otherwise), as for HTTP.

Touching the user from async code raises Django's ``SynchronousOnlyOperation``:
resolve it inside ``database_sync_to_async``.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from channels.sessions import SessionMiddlewareStack
from django.contrib.auth import get_user
from django.utils.functional import SimpleLazyObject


class LazyUserMiddleware:
    """Puts the session's user in ``scope["user"]``, looked up on first use."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> Any:
        holder = SimpleNamespace(session=scope["session"])  # what get_user reads of a request
        user = SimpleLazyObject(lambda: get_user(holder))  # type: ignore[arg-type]
        return await self.inner(dict(scope, user=user), receive, send)


def LazyAuthMiddlewareStack(inner: Any) -> Any:  # named like Channels' stacks
    return SessionMiddlewareStack(LazyUserMiddleware(inner))
