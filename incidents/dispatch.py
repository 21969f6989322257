"""Work handed to Celery workers, by task name: what services enqueue when their write commits.

``incidents.tasks`` defines the tasks under these names and calls the services;
services send through here and never import the tasks module, so the two do not
import each other. A task registered in this process is sent through its own
``apply_async`` (routes, time limits and eager mode apply as usual); otherwise the
message goes out by name.

A send happens after the commit, so it must never fail the request that committed:
if the broker cannot take the message (Redis away), the error is logged and handed to
the caller's ``on_failure``, which records that the work is still to be sent
(``incidents.services.delivery`` does so for runs, and the sweeper sends them later).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import current_app
from celery.canvas import Signature
from django.db import transaction

logger = logging.getLogger(__name__)

EXECUTE_STEP_RUN = "incidents.tasks.execute_step_run_task"
RUN_PREFLIGHT = "incidents.tasks.run_preflight_task"
TAKE_SNAPSHOT = "incidents.tasks.take_snapshot_task"

OnFailure = Callable[[Exception], None]


def send(name: str, *args: Any, **options: Any) -> None:
    """Send task ``name`` with ``args`` now; raises if the broker cannot take it."""
    current_app.signature(name, args=args, options=options).apply_async()


def send_on_commit(
    name: str, *args: Any, on_failure: OnFailure | None = None, **options: Any
) -> None:
    """Send task ``name`` with ``args`` once the current transaction commits (at once
    outside one). A send that fails is logged and passed to ``on_failure``; never raised."""
    signature = current_app.signature(name, args=args, options=options)
    transaction.on_commit(lambda: _send(signature, on_failure))


def _send(signature: Signature[Any], on_failure: OnFailure | None) -> None:
    try:
        signature.apply_async()
    except Exception as exc:
        logger.warning("could not send %s%s: %s", signature.task, tuple(signature.args), exc)
        if on_failure is None:
            return
        try:
            on_failure(exc)
        except Exception:
            logger.exception("could not record that %s was not sent", signature.task)
