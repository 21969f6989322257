"""How a metric check reads in the criteria (criteria9), without Prometheus: words and staleness."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from incidents.criteria import criteria_status
from incidents.models import Criterion, MetricMeasurement
from tests.measured import hold_all

pytestmark = pytest.mark.timeout(60)


def _missing(incident, key: str) -> list[str]:
    return next(s.missing for s in criteria_status(incident) if s.criterion.key == key)


def test_mig002_metric_checks_are_missing_until_measured_and_held(mig002, settings):
    settings.RIPCORD_TRIGGER_INTERVAL = 60
    performance = Criterion.objects.get(incident=mig002, key="performance_baseline")
    assert [m["id"] for m in performance.metrics] == ["p95_at_baseline"]
    assert "offset $incident_offset" in performance.metrics[0]["query"]
    assert _missing(mig002, "performance_baseline") == [
        "metric “p95 latency within 10 % of the half hour before the degradation”: not measured yet",
        "sign-off by devops engineer",
    ]
    assert "metric “At most 10 % of API requests fail”: not measured yet" in _missing(
        mig002, "core_functionality_works"
    )

    hold_all(mig002.pk, timezone.now())
    assert _missing(mig002, "performance_baseline") == ["sign-off by devops engineer"]


def test_a_stale_pass_is_not_met_while_the_incident_is_active(mig002, settings):
    settings.RIPCORD_TRIGGER_INTERVAL = 60
    hold_all(mig002.pk, timezone.now() - timedelta(minutes=10))
    (gap,) = [m for m in _missing(mig002, "performance_baseline") if "p95" in m]
    assert gap.startswith(
        "metric “p95 latency within 10 % of the half hour before the degradation”: last measured 10 min ago ("
    )


def test_a_fail_reads_as_its_evidence(mig002, settings):
    settings.RIPCORD_TRIGGER_INTERVAL = 60
    performance = Criterion.objects.get(incident=mig002, key="performance_baseline")
    MetricMeasurement.objects.create(
        incident=mig002,
        criterion=performance,
        metric_key="p95_at_baseline",
        measured_at=timezone.now(),
        outcome=MetricMeasurement.Outcome.FAIL,
        value=1.42,
        comparison="<=",
        threshold=1.1,
        samples=830,
        min_samples=200,
        window="5m",
        hold_minutes=5,
        reason="1.42 > 1.1 on 830 samples over 5m",
        query="q",
    )
    assert (
        "metric “p95 latency within 10 % of the half hour before the degradation”: 1.42 > 1.1 on 830 samples over 5m"
        in _missing(mig002, "performance_baseline")
    )


def test_the_api_gives_each_metric_check(mig002, ic, settings):
    from django.test import Client

    settings.RIPCORD_TRIGGER_INTERVAL = 60
    hold_all(mig002.pk, timezone.now())
    client = Client()
    client.force_login(ic)
    body = client.get(f"/api/v1/incidents/{mig002.pk}/criteria").json()
    performance = next(c for c in body["criteria"] if c["key"] == "performance_baseline")
    (metric,) = performance["metrics"]
    assert metric["key"] == "p95_at_baseline" and metric["met"] is True
    assert (metric["outcome"], metric["threshold"], metric["hold_minutes"]) == ("pass", 1.1, 5)


def test_the_incident_page_shows_each_metric_check_and_only_actors_get_measure_now(
    mig002, ic, viewer, settings
):
    from django.test import Client
    from django.urls import reverse

    settings.RIPCORD_TRIGGER_INTERVAL = 60
    hold_all(mig002.pk, timezone.now())
    pages = {}
    for user in (ic, viewer):
        client = Client()
        client.force_login(user)
        response = client.get(reverse("incidents:detail", args=[mig002.pk]))
        assert response.status_code == 200
        pages[user.username] = response.content.decode()
    for html in pages.values():
        assert 'data-testid="metric-performance_baseline-p95_at_baseline"' in html
        assert "&lt;= 1.1" in html and "(5 of 5 min)" in html
    assert 'data-testid="measure-performance_baseline"' in pages[ic.username]
    assert 'data-testid="measure-performance_baseline"' not in pages[viewer.username]
