"""The worker's database writes outlive a PostgreSQL restart.

A restart ends every session: the worker's connections are dead from then on, and
Django reuses a dead connection until something closes it. Every write the worker
makes while a run is under way goes through here, or follows the same rule:

- A connection-level error (``OperationalError``, ``InterfaceError``: a refused
  connection, a terminated session, a closed connection) closes this thread's
  connection, so the next attempt opens a new one.
- The write is tried again with a growing pause (RETRY_FIRST_SECONDS doubling up to
  RETRY_MAX_SECONDS) until it goes through, the caller says to give up (``give_up``:
  the run is no longer ours), or ``deadline`` passes; then the last error is raised.
- Every write retried this way is safe to repeat: a commit whose answer was lost may
  have happened, so what is retried is a compare-and-set (the claim, the outcome) or
  detects its own earlier success (the log sink's chunks). A claim whose answer was
  lost is the one case that errs: the retry finds the run RUNNING and leaves it, so
  the sweeper interrupts it though its script never started (the safe way to be wrong).

Other errors are not retried: they are bugs or refusals, not an outage. How long the
worker keeps trying is WRITE_RETRY_SECONDS: the sweeper gives a run a full lease after
the database comes back before judging it (incidents.execution.sweeper), so the lease
keeper, which renews on its own thread whenever the database answers, keeps the run
ours while its last output and its outcome wait here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from typing import TypeVar

from django.db import DatabaseError, InterfaceError, OperationalError, connection

logger = logging.getLogger(__name__)

T = TypeVar("T")

# What a lost or refused connection raises (psycopg's errors, as Django wraps them).
CONNECTION_ERRORS: tuple[type[Exception], ...] = (OperationalError, InterfaceError)
RETRY_FIRST_SECONDS = 0.2
RETRY_MAX_SECONDS = 2.0
# How long a run's last output and outcome are retried while the database is away.
WRITE_RETRY_SECONDS = 600.0


class GaveUp(Exception):
    """``give_up`` said to stop before the write went through."""


# What ``keep_trying`` raises when the write did not go through.
UNRECORDABLE: tuple[type[Exception], ...] = (*CONNECTION_ERRORS, GaveUp)


def replace_connection() -> None:
    """Close this thread's connection; the next query opens a new one."""
    with suppress(DatabaseError):
        connection.close()


def next_pause(pause: float) -> float:
    return min(pause * 2, RETRY_MAX_SECONDS)


def keep_trying(
    write: Callable[[], T],
    *,
    what: str,
    deadline: float,
    give_up: Callable[[], bool] | None = None,
) -> T:
    """``write()``, again after each connection error, until it succeeds or ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value. ``what`` names the write in the log,
    which says when the database went away and when the write went through after all.
    """
    pause = RETRY_FIRST_SECONDS
    failures = 0
    while True:
        try:
            result = write()
        except CONNECTION_ERRORS as exc:
            replace_connection()
            failures += 1
            if failures == 1:
                logger.warning("could not %s: database unreachable (%s); retrying", what, exc)
            if time.monotonic() + pause > deadline:
                logger.error("gave up trying to %s after %d attempts", what, failures)
                raise
            if give_up is not None and give_up():
                raise GaveUp(what) from exc
            time.sleep(pause)
            pause = next_pause(pause)
            continue
        if failures:
            logger.warning("%s: done after %d failed attempts", what, failures)
        return result
