"""Embedded mode's stand-in for Celery beat: the periodic jobs, on a daemon thread.

Celery's embedded scheduler forks; in the one-process demo a thread calling the
same service functions on the same schedule does the job.
"""

from __future__ import annotations

import logging
import threading

from django.conf import settings
from django.db import close_old_connections

from comms.services import cadence_tick
from incidents.execution.sweeper import sweep_stale_runs
from incidents.services.phases import refresh_clocks

log = logging.getLogger(__name__)


class EmbeddedBeat:
    def __init__(self, interval: float | None = None) -> None:
        self.interval = interval or settings.RIPCORD_SWEEP_SECONDS
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="embedded-beat", daemon=True)

    def start(self) -> EmbeddedBeat:
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            close_old_connections()
            for job in (sweep_stale_runs, refresh_clocks, cadence_tick):
                try:
                    job()
                except Exception:  # one failed job must not stop the next
                    log.exception("periodic job %s failed", job.__name__)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
