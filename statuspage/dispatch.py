"""Enqueue the status page's tasks by name (routed to the control queue, config/settings.py).

Services call these on commit; ``statuspage.tasks`` implements the names. A send runs after
the commit, so a broker that cannot take it is logged, never raised into the request that
published: the update is on the page either way.
"""

from __future__ import annotations

import logging

from celery import current_app

logger = logging.getLogger(__name__)

EMAIL_UPDATE = "statuspage.tasks.email_update_task"
EMAIL_CONFIRMATION = "statuspage.tasks.email_confirmation_task"


def _send(name: str, object_id: int) -> None:
    try:
        current_app.signature(name, args=(object_id,)).apply_async()
    except Exception as exc:
        logger.warning("could not send %s(%s): %s", name, object_id, exc)


def email_update(update_id: int) -> None:
    _send(EMAIL_UPDATE, update_id)


def email_confirmation(subscriber_id: int) -> None:
    _send(EMAIL_CONFIRMATION, subscriber_id)
