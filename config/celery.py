"""The Celery application. Settings come from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_ready

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ripcord")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

log = logging.getLogger(__name__)


@worker_ready.connect
def reap_leftovers(**kwargs: Any) -> None:
    """Stop what killed workers on this host left running, before this one takes a task.

    Sent by the worker's main process once its pool is up, from inside the consumer loop
    before the first message is dispatched.
    """
    from incidents.execution.reaping import reap_at_start

    try:
        if reaped := reap_at_start():
            log.warning("stopped the leftovers of runs %s", reaped)
    except Exception:  # a worker that cannot look (database down?) still serves its queues
        log.exception("could not look for the leftovers of earlier workers")
