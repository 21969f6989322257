"""Telling people they are needed: per-user and per-group notices over the channel layer.

Any app may call ``notify_users`` (these people) or ``notify_group`` (everyone in a
capability group, e.g. ``"commanders"``). The notice leaves only when the surrounding
transaction commits (at once outside one), so a rolled-back write tells nobody. Every
signed-in page holds one socket, ``/ws/notify/`` (``common.consumers.NotifyConsumer``),
which joins its user's group and one group per capability group of the user; the page's
``static/js/notify.js`` shows the notice in the page, and as a browser notification where
the person allowed it.

A notice is ``{"kind": ..., "payload": {...}}``; ``payload`` is JSON with, by
convention, ``title``, ``body`` and ``url`` (what the page shows and links to) and
``tag`` (a browser notification with the same tag replaces the earlier one). Pushes
are best effort, as on the incident page: a notice lost while Redis is away is not
resent, and the incident page itself stays the truth.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

logger = logging.getLogger(__name__)

MESSAGE_TYPE = "notify.message"  # handled by NotifyConsumer.notify_message
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def user_group(user_id: int) -> str:
    return f"notify.user.{int(user_id)}"


def capability_group(name: str) -> str:
    """The channel group of a capability group (layer group names allow few characters)."""
    return "notify.group." + _UNSAFE.sub("_", name)[:80]


def notify_users(user_ids: Iterable[int | None], kind: str, payload: Mapping[str, Any]) -> None:
    """Tell each of these people (None and duplicates are ignored), once the write commits."""
    groups = sorted({user_group(uid) for uid in user_ids if uid is not None})
    if groups:
        _on_commit(groups, kind, payload)


def notify_group(group_name: str, kind: str, payload: Mapping[str, Any]) -> None:
    """Tell everyone in a capability group (``"commanders"``...), once the write commits."""
    _on_commit([capability_group(group_name)], kind, payload)


def _on_commit(groups: list[str], kind: str, payload: Mapping[str, Any]) -> None:
    message = {"type": MESSAGE_TYPE, "kind": str(kind), "payload": dict(payload)}
    transaction.on_commit(lambda: send(groups, message), robust=True)


def send(groups: list[str], message: dict[str, Any]) -> None:
    """The one place a notice leaves for the channel layer (tests record it here)."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group in groups:
        try:
            async_to_sync(layer.group_send)(group, message)
        except Exception as exc:  # best effort: the page is the truth, a lost notice is a hint
            logger.warning("notice %s to %s not sent: %r", message.get("kind"), group, exc)
