"""The Celery application. Settings come from Django settings under the CELERY_ namespace."""

from __future__ import annotations

import logging
import os
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_process_init, worker_process_shutdown, worker_ready

from common.worker import Heartbeat, MetricsEndpoint
from incidents.execution.rundir import start_up_problem

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
    from django.conf import settings  # configured by now; this module loads with the settings

    queues = set(getattr(sender, "app", app).amqp.queues.consume_from or ())
    if queues and queues <= {settings.RIPCORD_CONTROL_QUEUE}:
        return
    if problem := start_up_problem(settings.RIPCORD_RUN_DIR):
        raise SystemExit(problem)


@worker_init.connect
def refuse_more_than_one_slot(sender: Any = None, **kwargs: Any) -> None:
    """A worker on Redis takes one task at a time (CELERY_WORKER_CONCURRENCY = 1): stop, saying why.

    Why: a worker with a free slot waits on the broker (a blocking BRPOP) while a task it
    runs is unacknowledged (acks_late). When Redis restarts then, Celery 5.7's consumer
    (``on_connection_error_after_connected``) first ``collect()``s the connection, whose
    channel close is cut short by the BRPOP's connection error and which then drops the
    transport's link to its connection (``transport.client = None``); its ``close()`` then
    closes that channel again, which restores the unacknowledged message through a new
    Redis client built from ``transport.client.hostname``: AttributeError, "Unrecoverable
    error", and the worker and its running step are gone. A worker whose only slot is busy
    does not wait on the broker (its prefetch of one is used), so the close is not cut
    short and nothing is left to restore. More steps at once: more worker processes.
    """
    if getattr(sender, "in_process", False):
        return  # the embedded worker: in-memory broker, thread pool
    concurrency = getattr(sender, "concurrency", 1)  # "auto" is resolved later: more than one
    several = not isinstance(concurrency, int) or concurrency > 1
    solo = "solo" in str(getattr(sender, "pool_cls", "")).lower()  # runs tasks in the consumer
    broker = str(getattr(sender, "app", app).conf.broker_url)
    if several and not solo and broker.startswith(("redis://", "rediss://")):
        raise SystemExit(
            f"celery worker: --concurrency {concurrency}: Ripcord's workers run one task per "
            "process, since a Redis restart kills a Celery 5.7 worker that waits for a task "
            "while another is running (config/celery.py). Start more worker processes instead."
        )


@worker_ready.connect
def reap_leftovers(**kwargs: Any) -> None:
    """Stop what killed workers on this host left running (and remove their runs' working
    folders), before this one takes a task.

    Sent by the worker's main process once its pool is up, from inside the consumer loop
    before the first message is dispatched.
    """
    # Apps are loaded by now, not at import.
    from incidents.execution.reaping import reap_at_start
    from incidents.execution.workdirs import remove_dead_workdirs

    try:
        if reaped := reap_at_start():
            log.warning("stopped the leftovers of runs %s", reaped)
        remove_dead_workdirs()
    except Exception:  # a worker that cannot look (database down?) still serves its queues
        log.exception("could not look for the leftovers of earlier workers")


@worker_process_init.connect
def push_on_a_thread(**kwargs: Any) -> None:
    """A pool process renders and sends its pushes on a thread of its own, so a claimed
    step's script starts before the page hears it started (incidents/push_thread.py).

    Only in the prefork pool's processes (the ones that run steps): the worker's main
    process keeps rendering on commit, so no thread of its holds a lock across the forks
    that replace a pool process, and a worker started in a test's own process (solo pool)
    changes nothing for the tests after it.
    """
    from django.conf import settings

    from incidents import push_thread  # apps are loaded by now, not at import

    if settings.RIPCORD_WORKER_PUSH_THREAD:
        push_thread.enable()


@worker_process_shutdown.connect
def send_the_last_pushes(**kwargs: Any) -> None:
    """What waits on the push thread is sent before the pool process ends."""
    from incidents import push_thread

    if not push_thread.drain(timeout=5.0):
        log.warning("pushes were still waiting after 5 s at shutdown; the pages resync")
