"""The Celery application. Settings come from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_ready

from common.worker import Heartbeat, MetricsEndpoint

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("ripcord")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
# Every worker marks its queues alive for /healthz, and may serve its own /metrics.
app.steps["consumer"].add(Heartbeat)
app.steps["worker"].add(MetricsEndpoint)

log = logging.getLogger(__name__)


@worker_init.connect
def refuse_a_broker_nobody_else_can_reach(sender: Any = None, **kwargs: Any) -> None:
    """A worker process on the in-memory broker could never receive a task: stop, saying why.

    Without REDIS_URL / CELERY_BROKER_URL the broker is kombu's in-memory transport, whose
    queues exist inside one process. Only the embedded worker (a thread of ``manage.py demo``)
    shares that process with the web server; a ``celery worker`` started beside a web server
    configured so would wait forever while every run stayed queued.
    """
    in_process = getattr(sender, "in_process", False)
    broker = str(getattr(sender, "app", app).conf.broker_url)
    if broker.startswith("memory://") and not in_process:
        raise SystemExit(
            "celery worker: no broker is configured (set REDIS_URL or CELERY_BROKER_URL); "
            "on the in-memory broker only the web process's own embedded worker "
            "(manage.py demo) can receive tasks."
        )


@worker_init.connect
def refuse_a_run_dir_it_cannot_write(sender: Any = None, **kwargs: Any) -> None:
    """A worker that could not give a step its working directory stops at once, saying why.

    Otherwise it would take every step it is sent and fail each one on PermissionError.
    Checked as the user the worker runs as, once its queues are known: a worker consuming
    only the housekeeping queue runs no step and needs no run directory.
    """
    from django.conf import settings

    from incidents.execution.rundir import start_up_problem

    queues = set(getattr(sender, "app", app).amqp.queues.consume_from or ())
    if queues and queues <= {settings.RIPCORD_CONTROL_QUEUE}:
        return
    if problem := start_up_problem(settings.RIPCORD_RUN_DIR):
        raise SystemExit(problem)


@worker_ready.connect
def reap_leftovers(**kwargs: Any) -> None:
    """Stop what killed workers on this host left running, before this one takes a task.

    Sent by the worker's main process once its pool is up, from inside the consumer loop
    before the first message is dispatched.
    """
    from incidents.execution.reaping import reap_at_start  # apps are loaded by now, not at import

    try:
        if reaped := reap_at_start():
            log.warning("stopped the leftovers of runs %s", reaped)
    except Exception:  # a worker that cannot look (database down?) still serves its queues
        log.exception("could not look for the leftovers of earlier workers")
