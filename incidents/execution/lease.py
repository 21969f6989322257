"""A running run's lease, renewed from a thread of its own, whatever the executor is doing.

The sweeper declares a run interrupted when ``heartbeat_at`` is older than the
lease. Renewing it from the executor's ``should_stop`` made the lease depend on
the executor polling: an HTTP request or an image pull blocks for minutes
without polling, and a live run was declared lost and its real outcome dropped.
The keeper renews every HEARTBEAT_SECONDS on its own database connection (Django
connections belong to the thread that opened them; it closes its own when it
stops) and records what it learns: a person asked to cancel, or the run is no
longer ours. ``should_stop`` on the worker's thread only reads those flags. A
keeper that stops without being asked counts as lost too: without it the lease
lapses, so the step must stop rather than run on to an outcome nobody records.
"""

from __future__ import annotations

import logging
import threading

from django.db import connections
from django.utils import timezone

from incidents.models import StepRun

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 1.0
STOP_WAIT_SECONDS = 10.0


class LeaseKeeper:
    """Renews one RUNNING run's heartbeat until stopped; a daemon thread, one per run."""

    def __init__(self, run_id: int, *, interval: float = HEARTBEAT_SECONDS) -> None:
        self.run_id = run_id
        self.interval = interval
        self.cancel_requested = threading.Event()
        # The run is no longer RUNNING (the sweeper took it), or the keeper itself stopped.
        self.lost = threading.Event()
        self.failure: str | None = None  # why the keeper stopped, when it was not asked to
        self._failures = 0  # renewals failed in a row
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._keep, name=f"lease-{run_id}", daemon=True)

    @property
    def should_stop(self) -> bool:
        return self.cancel_requested.is_set() or self.lost.is_set()

    def start(self) -> LeaseKeeper:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        # Bounded: a renewal stuck on the database must not hold the worker; the daemon
        # thread closes its own connection whenever that query returns.
        self._thread.join(STOP_WAIT_SECONDS)

    def _keep(self) -> None:
        try:
            # The claim set heartbeat_at, so the first renewal is one interval later.
            while not self._stopping.wait(self.interval) and not self.lost.is_set():
                self.renew()
        except Exception as exc:
            self.failure = f"{type(exc).__name__}: {exc}"
            logger.exception("run %s: the lease keeper stopped", self.run_id)
        finally:
            if not self._stopping.is_set():
                # Nobody renews the lease now: the sweeper will interrupt the run and stop
                # what it started, so the executor must stop first (and the runner says why).
                self.lost.set()
            connections.close_all()  # this thread's connections only

    def renew(self) -> None:
        """One renewal; any error is logged and the next interval tries again.

        Not only DatabaseError: InterfaceError (a closed connection) is not one, and a
        keeper that died of anything would let the lease lapse under a live step. While
        the database is away (a restart) only the first failure is logged, with its
        traceback, and then the renewal that works again.
        """
        try:
            self._renew()
        except Exception:
            self._failures += 1
            if self._failures == 1:
                logger.warning("run %s: could not renew the lease", self.run_id, exc_info=True)
            connections.close_all()  # a broken connection is replaced on the next try
            return
        if self._failures:
            logger.warning(
                "run %s: lease renewed again after %d failed renewals", self.run_id, self._failures
            )
            self._failures = 0

    def _renew(self) -> None:
        running = StepRun.objects.filter(pk=self.run_id, status=StepRun.Status.RUNNING)
        # Once a cancel is known, renewing is all there is to do (one query, not three).
        renewable = (
            running
            if self.cancel_requested.is_set()
            else running.filter(cancel_requested_by__isnull=True)
        )
        if renewable.update(heartbeat_at=timezone.now()):
            return
        status = StepRun.objects.filter(pk=self.run_id).values_list("status", flat=True).first()
        if status is None:
            # No row: its incident was deleted (or, in a test, the row is not committed).
            # Nobody took the run; if it is really gone, finish_run finds nothing to update.
            return
        if status != StepRun.Status.RUNNING:
            self.lost.set()
            return
        self.cancel_requested.set()
        # Still ours while the executor stops what it started: keep the sweeper off it.
        running.update(heartbeat_at=timezone.now())
