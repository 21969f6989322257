"""Metric checks recorded as held (criteria9), for tests whose story is not the measuring.

The measuring itself is tested against a real Prometheus in tests/incidents/test_metric_criteria.py;
a drill or a postmortem story only needs Prometheus to have said "back to normal" for long enough.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from incidents.models import Criterion, MetricMeasurement


def hold_all(incident_id: int, at: datetime) -> None:
    """Every metric check of the incident passed from ``hold_minutes`` before ``at`` until ``at``."""
    for criterion in Criterion.objects.filter(incident_id=incident_id).exclude(metrics=[]):
        for metric in criterion.metrics:
            since = at - timedelta(minutes=metric.get("hold_minutes", 0))
            for when in sorted({since, at}):
                MetricMeasurement.objects.create(
                    incident_id=incident_id,
                    criterion=criterion,
                    metric_key=metric["id"],
                    measured_at=when,
                    outcome=MetricMeasurement.Outcome.PASS,
                    value=metric["threshold"],
                    comparison=metric.get("comparison", "<="),
                    threshold=metric["threshold"],
                    samples=max(1000, metric.get("min_samples", 1)),
                    min_samples=metric.get("min_samples", 1),
                    window="5m",
                    hold_minutes=metric.get("hold_minutes", 0),
                    held_since=since,
                    reason=f"{metric['threshold']:g} {metric.get('comparison', '<=')} "
                    f"{metric['threshold']:g} on 1000 samples over 5m",
                    query=metric["query"],
                )
