"""The incident side of Ripcord's metrics (README, "Monitoring Ripcord").

Kept by the process that sees them (added up per service by prometheus-client's
multiprocess mode, common/metrics.py): open websockets (web), pushes and their delay
(whoever commits a change or flushes a log: web and workers), sweeper actions (the
control worker).

Read from the database at scrape time by ``StepRunCollector`` (the web's /metrics only):
runs by state and queue, how long claimed runs waited in their queue, and the oldest run
still waiting. Those are true whichever worker process or host ran the steps, and a
worker's restart loses none of them.

Labels are states, queue names, kinds and actions: never an incident's, step's or
person's name.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Min,
    Q,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from prometheus_client import Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric

from incidents.models import StepRun

logger = logging.getLogger(__name__)

# --- websockets (web) ---------------------------------------------------------------

WEBSOCKETS = Gauge(
    "ripcord_websocket_connections",
    "Incident pages connected for live updates right now (accepted websockets).",
    multiprocess_mode="livesum",  # the processes alive now, added up
)
WEBSOCKET_CONNECTS = Counter(
    "ripcord_websocket_connects_total",
    "Websockets accepted since start: a jump is a reconnect storm (a deploy, a Redis blip).",
)


def socket_opened(consumer: Any) -> None:
    consumer.ripcord_counted = True
    WEBSOCKETS.inc()
    WEBSOCKET_CONNECTS.inc()


def socket_closed(consumer: Any) -> None:
    """Counts down only a socket counted up: a refused one never was."""
    if getattr(consumer, "ripcord_counted", False):
        consumer.ripcord_counted = False
        WEBSOCKETS.dec()


# --- pushes (web and workers) ----------------------------------------------------------

PUSH_KINDS = ("change", "tail")
PUSHES = Counter(
    "ripcord_pushes_total",
    "Live pushes: kind is change (a write's fragments, rendered once per audience) or "
    "tail (a running step's output); result is sent, or failed (the channel layer refused).",
    ["kind", "result"],
)
PUSH_SECONDS = Histogram(
    "ripcord_push_delay_seconds",
    "Seconds from a change being published (in its transaction, so the commit is "
    "included) or a log tail flushed, to its bytes handed to the channel layer.",
    ["kind"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
for _kind in PUSH_KINDS:
    for _result in ("sent", "failed"):
        PUSHES.labels(_kind, _result)


@contextmanager
def pushing(kind: str, since: float | None = None) -> Iterator[None]:
    """Count and time one push (``since``: a ``perf_counter`` taken when it was published)."""
    started = time.perf_counter() if since is None else since
    try:
        yield
    except BaseException:
        PUSHES.labels(kind, "failed").inc()
        raise
    PUSHES.labels(kind, "sent").inc()
    PUSH_SECONDS.labels(kind).observe(time.perf_counter() - started)


# --- the sweeper (control worker) ---------------------------------------------------------

SWEEPER_ACTIONS = Counter(
    "ripcord_sweeper_actions_total",
    "What the sweeper did: interrupted (a run's worker stopped renewing its lease), "
    "flagged_waiting (told an incident a run waits for a worker), resent (sent again a run "
    "the broker never took), cleaned (removed an ended run's working folder).",
    ["action"],
)
for _action in ("interrupted", "flagged_waiting", "resent", "cleaned"):
    SWEEPER_ACTIONS.labels(_action)


# --- runs, from the database (scrape time) ------------------------------------------

QUEUE_WAIT_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


def _step_run_rows() -> list[dict[str, Any]]:
    """One GROUP BY (state, queue): counts, queue-wait buckets and the oldest queued run."""
    queued_at = Coalesce("approved_at", "requested_at")  # as the sweeper measures waiting
    claimed = Q(started_at__isnull=False)
    buckets = {
        f"le_{i}": Count("pk", filter=claimed & Q(wait__lte=timedelta(seconds=bound)))
        for i, bound in enumerate(QUEUE_WAIT_BUCKETS)
    }
    return list(
        StepRun.objects.annotate(
            wait=ExpressionWrapper(F("started_at") - queued_at, output_field=DurationField())
        )
        .values("status", "queue")
        .annotate(
            runs=Count("pk"),
            claimed=Count("pk", filter=claimed),
            wait_sum=Sum("wait", filter=claimed),
            oldest_queued=Min(queued_at, filter=Q(status=StepRun.Status.QUEUED)),
            **buckets,
        )
        .order_by()
    )


class StepRunCollector:
    """Runs by state, queue waits and the oldest queued run, read at each scrape."""

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "ripcord_database_up",
            "1 if this scrape could read Ripcord's database (the ripcord_step_run* values "
            "come from it), 0 if not: then they are missing from this scrape.",
        )
        try:
            rows = _step_run_rows()
        except Exception:
            logger.warning("metrics: could not read the runs", exc_info=True)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from self.families(rows)

    @staticmethod
    def families(rows: list[dict[str, Any]]) -> Iterator[Metric]:
        queues = sorted({"default", *(row["queue"] for row in rows)})
        counts = {(row["status"], row["queue"]): row["runs"] for row in rows}
        states = GaugeMetricFamily(
            "ripcord_step_runs",
            "Step runs by state and queue as stored now (awaiting_approval, queued and "
            "running are current; the others count every run that ever ended so).",
            labels=["state", "queue"],
        )
        for queue in queues:
            for state in StepRun.Status.values:
                states.add_metric([state, queue], counts.get((state, queue), 0))
        yield states

        waits = HistogramMetricFamily(
            "ripcord_step_run_queue_wait_seconds",
            "Seconds a run waited in its queue, from being queued (requested, or approved "
            "when gated) to a worker claiming it; every claimed run ever, by queue.",
            labels=["queue"],
        )
        oldest = GaugeMetricFamily(
            "ripcord_step_run_oldest_queued_seconds",
            "Seconds the oldest run still queued has waited for a worker (0: none waits). "
            "Grows while no worker consumes the queue, or all of its workers are busy.",
            labels=["queue"],
        )
        now = timezone.now()
        for queue in queues:
            mine = [row for row in rows if row["queue"] == queue]
            cumulative = [
                (str(bound), sum(row[f"le_{i}"] for row in mine))
                for i, bound in enumerate(QUEUE_WAIT_BUCKETS)
            ]
            claimed = sum(row["claimed"] for row in mine)
            total = sum((row["wait_sum"] or timedelta()).total_seconds() for row in mine)
            waits.add_metric([queue], [*cumulative, ("+Inf", claimed)], max(total, 0.0))
            queued = [row["oldest_queued"] for row in mine if row["oldest_queued"] is not None]
            oldest.add_metric([queue], (now - min(queued)).total_seconds() if queued else 0.0)
        yield waits
        yield oldest
