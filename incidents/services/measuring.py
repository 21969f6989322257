"""Measuring the success criteria's metric checks against Prometheus (writes).

When: while the incident is active and the runbook's last phase has started (MIG-002's
validation_monitoring): recovery is proven where the plan monitors it, and a check does
not start holding during the rollback itself. ``measure_all`` runs on the control queue
every ``RIPCORD_TRIGGER_INTERVAL`` seconds (``incidents.tasks``); ``measure_criterion`` is
also the "Measure now" of the criteria panel.

Each measurement is recorded (``MetricMeasurement``) and the criteria panel is pushed to
open pages. A pass continues the hold of the previous one if that passed too, no more
than 2.5 intervals before; a fail, an inconclusive or a gap starts it again. Prometheus is
asked outside the incident's lock; the record is written under it.
"""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import Criterion, Incident, MetricMeasurement, Phase
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from runbooks.metric_checks import MetricCheck, with_offset
from validation import prometheus

_MAX_REASON = 500
logger = logging.getLogger(__name__)
Outcome = MetricMeasurement.Outcome


def prometheus_url(incident: Incident) -> str:
    """The environment's PROMETHEUS_URL variable, else the setting (as triggers do)."""
    for env in incident.runbook_version.parsed().environments:
        if env.id == incident.environment:
            return env.variables.get("PROMETHEUS_URL") or settings.RIPCORD_PROMETHEUS_URL
    return settings.RIPCORD_PROMETHEUS_URL


def is_measuring(incident: Incident) -> bool:
    """Active, and its last phase has started."""
    if incident.status != Incident.Status.ACTIVE:
        return False
    last = Phase.objects.filter(incident=incident).order_by("-position").only("started_at").first()
    return last is not None and last.started_at is not None


def continuity(interval: float) -> timedelta:
    """How far apart two measurements may be and still hold together."""
    return timedelta(seconds=interval * 2.5)


def _inconclusive_words(reading: prometheus.Reading) -> str:
    return "no data" if reading.problem == "no_data" else reading.detail


def judge(check: MetricCheck, reading: prometheus.Reading, window: str) -> tuple[str, str]:
    """The outcome and its evidence in words ("1.42 > 1.1 on 830 samples over 5m")."""
    if reading.problem:
        return Outcome.INCONCLUSIVE, f"inconclusive: {_inconclusive_words(reading)}"
    assert reading.value is not None and reading.samples is not None
    passed = prometheus.compare(reading.value, check.comparison, check.threshold)
    sign = check.comparison if passed else prometheus.negated(check.comparison)
    words = f"{reading.value:.3g} {sign} {check.threshold:g} on {reading.samples:g} samples"
    if window:
        words += f" over {window}"
    return (Outcome.PASS if passed else Outcome.FAIL), words


def measure_criterion(
    criterion: Criterion,
    now: datetime | None = None,
    unreachable: set[str] | None = None,
    *,
    base_url: str | None = None,
) -> list[MetricMeasurement]:
    """Measure every metric check of ``criterion`` now, record each, push the panel.

    ``unreachable``: the Prometheus URLs found down this round; a URL found down is not
    asked again within the call (a person's "Measure now" waits one timeout, not one each).
    """
    unreachable = set() if unreachable is None else unreachable
    incident = Incident.objects.select_related("runbook_version").get(pk=criterion.incident_id)
    if not is_measuring(incident):
        raise ServiceError("Metrics are measured once the runbook's last phase has started.")
    now = now or timezone.now()
    url = prometheus_url(incident) if base_url is None else base_url
    offset = (now - incident.opened_at).total_seconds()
    readings: list[tuple[MetricCheck, str, prometheus.Reading]] = []
    for raw in criterion.metrics:
        check = MetricCheck.model_validate(raw)
        query = with_offset(check.query, offset)
        if not url:
            reading = prometheus.Reading(None, None, "down", "no Prometheus for this environment")
        elif url in unreachable:
            reading = prometheus.Reading(None, None, "down", "Prometheus unreachable this round")
        else:
            samples = with_offset(check.samples_query, offset) if check.samples_query else None
            reading = prometheus.read(
                check.model_copy(update={"samples_query": samples}),
                query,
                check.threshold,
                url,
                settings.RIPCORD_PROMETHEUS_TIMEOUT,
                worst=prometheus.opposite(check.comparison),
            )
            if reading.problem == "down":
                unreachable.add(url)
        readings.append((check, query, reading))
    return _record(incident.pk, criterion.pk, readings, now)


def _record(
    incident_id: int,
    criterion_id: int,
    readings: list[tuple[MetricCheck, str, prometheus.Reading]],
    now: datetime,
) -> list[MetricMeasurement]:
    interval = settings.RIPCORD_TRIGGER_INTERVAL
    done = []
    with transaction.atomic():
        lock_incident(incident_id)
        for check, query, reading in readings:
            window = prometheus.window_of(check.samples_query or query)
            outcome, reason = judge(check, reading, window)
            previous = (
                MetricMeasurement.objects.filter(criterion_id=criterion_id, metric_key=check.id)
                .only("outcome", "held_since", "measured_at")
                .first()
            )
            held_since = None
            if outcome == Outcome.PASS:
                continuing = (
                    previous is not None
                    and previous.outcome == Outcome.PASS
                    and previous.held_since is not None
                    and timedelta(0) <= now - previous.measured_at <= continuity(interval)
                )
                held_since = previous.held_since if continuing and previous else now
            value = reading.value
            done.append(
                MetricMeasurement.objects.create(
                    incident_id=incident_id,
                    criterion_id=criterion_id,
                    metric_key=check.id,
                    measured_at=now,
                    outcome=outcome,
                    value=value if value is not None and math.isfinite(value) else None,
                    comparison=check.comparison,
                    threshold=check.threshold,
                    samples=reading.samples,
                    min_samples=check.min_samples,
                    window=window,
                    hold_minutes=check.hold_minutes,
                    held_since=held_since,
                    reason=reason[:_MAX_REASON],
                    query=query,
                )
            )
        publish(Change(incident_id, criteria=True))
    return done


def measure_all(now: datetime | None = None) -> list[MetricMeasurement]:
    """Every metric check of every active incident whose last phase has started."""
    done: list[MetricMeasurement] = []
    unreachable: set[str] = set()
    criteria = (
        Criterion.objects.filter(incident__status=Incident.Status.ACTIVE)
        .exclude(metrics=[])
        .select_related("incident")
        .order_by("incident_id", "position")
    )
    measuring: dict[int, bool] = {}
    for criterion in criteria:
        if criterion.incident_id not in measuring:
            measuring[criterion.incident_id] = is_measuring(criterion.incident)
        if not measuring[criterion.incident_id]:
            continue
        try:
            done += measure_criterion(criterion, now, unreachable)
        except ServiceError as exc:  # resolved while Prometheus was read: nothing to measure
            logger.info("criterion %s not measured: %s", criterion.pk, exc.message)
        except Exception:  # one criterion's fault must not leave every other unmeasured
            logger.exception("criterion %s could not be measured", criterion.pk)
    return done
