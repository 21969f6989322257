"""Work handed to Celery workers, by task name: what services enqueue when their write commits.

``incidents.tasks`` defines the tasks under these names and calls the services;
services send through here and never import the tasks module, so the two do not
import each other. A task registered in this process is sent through its own
``apply_async`` (routes, time limits and eager mode apply as usual); otherwise the
message goes out by name.
"""

from __future__ import annotations

from typing import Any

from celery import current_app
from django.db import transaction

EXECUTE_STEP_RUN = "incidents.tasks.execute_step_run_task"
RUN_PREFLIGHT = "incidents.tasks.run_preflight_task"
TAKE_SNAPSHOT = "incidents.tasks.take_snapshot_task"


def send_on_commit(name: str, *args: Any, **options: Any) -> None:
    """Send task ``name`` with ``args`` once the current transaction commits (at once outside one)."""
    signature = current_app.signature(name, args=args, options=options)
    transaction.on_commit(signature.apply_async)
