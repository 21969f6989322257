"""Stopping what a run left running after its worker died, and telling the incident.

Two moments find such leftovers, both through the executors' ``abandon``:

- the sweeper, as it declares a run interrupted (``stop_leftovers``). It can only
  reach processes on its own host (and the Docker engine it can talk to); for a run
  whose worker lived elsewhere the timeline says a process may still be alive there;
- a worker starting up (``reap_at_start``, on Celery's ``worker_ready``, before it
  takes a task; ``manage.py demo`` calls it before starting its in-process worker,
  which sends no worker_ready), for the marked processes of runs
  that no live worker process on this host is running: what a previous worker on
  this host left when it was killed.

Marks carry ``instance_id()``, so two installations (or test runs) sharing a host,
whose run ids overlap, never stop each other's steps.
"""

from __future__ import annotations

import logging
import socket
from pathlib import Path

from django.db import connections, transaction

from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import StepRun, TimelineEntry
from incidents.services.locking import lock_incident
from incidents.services.timeline import record
from runbooks.executors import get_executor
from runbooks.executors.leftovers import marked_processes

log = logging.getLogger(__name__)


def instance_id() -> str:
    """This installation, as marked on what its steps start: its database's name and server."""
    db = connections["default"].settings_dict
    return f"{db['NAME']}@{db.get('HOST') or 'localhost'}:{db.get('PORT') or ''}"


def worker_host(worker: str) -> str:
    """The host part of a run's ``worker`` ("host:pid")."""
    return worker.rpartition(":")[0]


def stop_leftovers(run: StepRun) -> str:
    """Stop what interrupted ``run`` left running; a sentence for its timeline entry."""
    here = socket.gethostname()
    try:
        stopped = get_executor(run.step.kind).abandon(run.pk, instance=instance_id())
    except Exception as exc:  # abandon should not raise; the interruption stands regardless
        log.exception("could not stop the leftovers of run %s", run.pk)
        stopped = f"could not look for what it left running ({exc})"
    host = worker_host(run.worker)
    if host and host != here:
        elsewhere = f"it ran on {host}, where a process of it may still be alive"
        return _sentence(f"{stopped}; {elsewhere}" if stopped else elsewhere)
    return _sentence(stopped or f"nothing of it was left running on {here}")


def reap_at_start() -> list[int]:
    """Stop the marked processes of runs that no live worker process on this host is running.

    A run RUNNING under a live worker process here is that worker's; one RUNNING under a
    worker on another host is left to the sweeper (a shared /proc with another hostname
    would be a container sharing the host's pids). Returns the run ids stopped.
    """
    instance = instance_id()
    marked = marked_processes(instance)
    if not marked:
        return []
    here = socket.gethostname()
    runs = StepRun.objects.select_related("step").in_bulk(list(marked))
    reaped = []
    for run_id in sorted(marked):
        run = runs.get(run_id)
        if run is not None and run.status == StepRun.Status.RUNNING and _owned(run.worker, here):
            continue
        stopped = get_executor("shell").abandon(run_id, instance=instance)
        if not stopped:
            continue  # it ended by itself meanwhile
        reaped.append(run_id)
        log.warning("run %s: %s", run_id, stopped)
        if run is not None:
            _tell(run, f"a worker starting on {here} {stopped}")
    return reaped


def _owned(worker: str, here: str) -> bool:
    """Whether the worker that claimed the run may still be running it."""
    host, _, pid = worker.rpartition(":")
    if host != here:
        return True
    # A recycled pid keeps the run's processes alive until the sweeper declares the run
    # interrupted and stops them itself: the safe way to be wrong.
    return pid.isdigit() and Path(f"/proc/{pid}").exists()


def _tell(run: StepRun, what: str) -> None:
    with transaction.atomic():
        incident = lock_incident(run.incident_id, require_active=False)
        change = Change(incident.pk, steps={run.step_id})
        record(
            incident,
            TimelineEntry.Kind.LEFTOVERS_STOPPED,
            f"Leftovers of {run.step.title} (attempt {run.attempt}, "
            f"{run.get_status_display().lower()}): {_sentence(what)}",
            actor=None,
            change=change,
            step=run.step,
            data={"run": run.pk},
        )
        publish(change)


def _sentence(text: str) -> str:
    text = text.rstrip(".")
    return f"{text[:1].upper()}{text[1:]}."
