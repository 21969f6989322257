"""Success criteria measured against a real Prometheus (criteria9): the metric proves recovery.

Debian's ``prometheus`` scrapes, every second, a /metrics this test serves
(``http_requests_total{status}``, about 3 % of requests failing). A criterion's metric
check "API error share <= 10 %" is met only once it has passed on enough samples for
``hold_minutes``; inconclusive (too few samples, no series, a query error, Prometheus
down) is never met and breaks the hold.
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from incidents import services
from incidents.criteria import criteria_status
from incidents.models import Criterion, Incident, MetricMeasurement, Phase
from incidents.services import measuring
from incidents.services.measuring import measure_criterion
from incidents.tasks import measure_criteria_task
from tests.factories import SMALL_RUNBOOK, make_version
from tests.integration.processes import free_port, wait_for
from tests.integration.prometheus import (
    Prometheus,
    TodoMetrics,
    prometheus_binary,
    serve_metrics,
    start_prometheus,
)

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        prometheus_binary() is None,
        reason="prometheus is not installed (bin/setup --dev installs it)",
    ),
]

INTERVAL = 30  # seconds between measurements: hold_minutes 1 = passes 60 s apart
SHARE = (
    'sum(rate(http_requests_total{job="todo-api",status=~"5.."}[30s]))'
    ' / sum(rate(http_requests_total{job="todo-api"}[30s]))'
)
COUNT = 'sum(increase(http_requests_total{job="todo-api"}[30s]))'
Outcome = MetricMeasurement.Outcome
_NUMBERS = itertools.count(1)  # one runbook, a version per incident


def check(**changes: Any) -> dict[str, Any]:
    base = {
        "id": "api_error_share",
        "query": SHARE,
        "samples_query": COUNT,
        "comparison": "<=",
        "threshold": 0.10,
        "hold_minutes": 1,
        "min_samples": 100,
    }
    return base | changes


def open_with(
    url: str, ic, metric: dict[str, Any], *, last_phase: bool = True, version: Any = None
) -> Incident:
    spec = copy.deepcopy(SMALL_RUNBOOK)
    spec["environments"][0]["variables"]["PROMETHEUS_URL"] = url
    spec["success_criteria"] = [
        {
            "id": "api_ok",
            "title": "Core functionality works",
            "signoff": "backend_engineer",
            "metrics": [metric],
        }
    ]
    incident = services.open_incident(
        version=version or make_version(spec, number=next(_NUMBERS)),
        environment="staging",
        title="API rollback",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    if last_phase:
        Phase.objects.filter(incident=incident).update(started_at=timezone.now())
    return incident


def criterion_of(incident: Incident) -> Criterion:
    return Criterion.objects.get(incident=incident, key="api_ok")


def status_of(incident: Incident):
    (status,) = criteria_status(incident)
    return status


def measure(incident: Incident, at: datetime) -> MetricMeasurement:
    (done,) = measure_criterion(criterion_of(incident), at)
    return done


@pytest.fixture(scope="module")
def metrics() -> Iterator[TodoMetrics]:
    served = serve_metrics()
    served.traffic(ok=100, failing=3)  # ~3 % of ~1,000 requests a second fail
    yield served
    served.stop()


@pytest.fixture(scope="module")
def prometheus(metrics: TodoMetrics, tmp_path_factory) -> Iterator[Prometheus]:
    server = start_prometheus(Path(tmp_path_factory.mktemp("prometheus")), metrics.port)
    wait_for(
        lambda: server.has(f"({COUNT}) > 100"), timeout=30, what="rates in Prometheus", interval=0.2
    )
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _interval(settings):
    settings.RIPCORD_TRIGGER_INTERVAL = INTERVAL
    settings.RIPCORD_PROMETHEUS_TIMEOUT = 5


def test_a_passing_metric_that_holds_meets_the_criterion(db, ic, backend, prometheus):
    incident = open_with(prometheus.url, ic, check())
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    services.sign_off(criterion_id=criterion_of(incident).pk, by=backend)
    t0 = timezone.now() - timedelta(seconds=60)

    first = measure(incident, t0)
    assert first.outcome == Outcome.PASS, first.reason
    assert first.value is not None and 0.005 < first.value < 0.08
    assert first.samples is not None and first.samples >= 100
    assert (first.threshold, first.comparison, first.window) == (0.10, "<=", "30s")
    assert first.held_since == t0
    assert first.reason.startswith(f"{first.value:.3g} <= 0.1 on ")
    assert first.reason.endswith(" samples over 30s")
    assert not status_of(incident).is_met  # passing once is not holding a minute

    measure(incident, t0 + timedelta(seconds=30))
    missing = status_of(incident).missing
    assert len(missing) == 1 and missing[0].startswith("metric “api_error_share”: ")
    assert missing[0].endswith("; held 0 of 1 min")

    last = measure(incident, t0 + timedelta(seconds=60))
    assert last.held_since == t0
    status = status_of(incident)
    assert status.is_met, status.missing
    (metric,) = status.metrics
    assert metric.held_minutes == 1 and metric.last == last
    assert "held 1 of 1 min" in metric.evidence


BROKEN = {
    "too_few_samples": (check(min_samples=10**9), "fewer than 1000000000"),
    "empty_series": (check(query='sum(rate(no_such_metric{job="todo-api"}[30s]))'), "no data"),
    "query_error": (check(query='rate(http_requests_total{job="todo-api"})'), "query error"),
}


@pytest.mark.parametrize("case", [*BROKEN, "prometheus_down"])
def test_inconclusive_is_never_met(db, ic, prometheus, case):
    if case == "prometheus_down":
        url, metric, words = f"http://127.0.0.1:{free_port()}", check(), "unreachable"
    else:
        url, (metric, words) = prometheus.url, BROKEN[case]
    incident = open_with(url, ic, metric | {"hold_minutes": 0})
    t0 = timezone.now() - timedelta(seconds=60)
    for seconds in (0, 30, 60):
        done = measure(incident, t0 + timedelta(seconds=seconds))
        assert done.outcome == Outcome.INCONCLUSIVE, done.reason
        assert done.held_since is None
    status = status_of(incident)
    assert not status.is_met
    assert status.missing[0].startswith("metric “api_error_share”: inconclusive: ")
    assert words in status.missing[0]


def test_a_fail_or_an_inconclusive_in_the_middle_breaks_the_hold(db, ic, prometheus):
    incident = open_with(prometheus.url, ic, check())
    criterion = criterion_of(incident)
    t0 = timezone.now() - timedelta(seconds=150)

    def measure_with(seconds: int, **changes: Any) -> MetricMeasurement:
        Criterion.objects.filter(pk=criterion.pk).update(metrics=[check(**changes)])
        return measure(incident, t0 + timedelta(seconds=seconds))

    assert measure_with(0).outcome == Outcome.PASS
    failed = measure_with(30, threshold=0.001)  # ~3 % errors > 0.1 %
    assert failed.outcome == Outcome.FAIL and failed.held_since is None
    assert " > 0.001 on " in failed.reason
    assert measure_with(60).held_since == t0 + timedelta(seconds=60)  # a new hold
    thin = measure_with(90, min_samples=10**9)
    assert thin.outcome == Outcome.INCONCLUSIVE
    assert measure_with(120).held_since == t0 + timedelta(seconds=120)
    last = measure_with(150)
    assert last.held_since == t0 + timedelta(seconds=120)
    assert not status_of(incident).is_met  # 30 s held of 60: the breaks counted


def test_a_gap_between_measurements_breaks_the_hold(db, ic, prometheus):
    incident = open_with(prometheus.url, ic, check())
    t0 = timezone.now() - timedelta(seconds=200)
    measure(incident, t0)
    later = measure(incident, t0 + timedelta(seconds=INTERVAL * 3))
    assert later.outcome == Outcome.PASS and later.held_since == later.measured_at


def test_the_beat_measures_only_incidents_in_their_last_phase(db, ic, prometheus):
    measuring = open_with(prometheus.url, ic, check())
    version = measuring.runbook_version
    earlier = open_with(prometheus.url, ic, check(), last_phase=False, version=version)
    resolved = open_with(prometheus.url, ic, check(), version=version)
    services.resolve_incident(incident_id=resolved.pk, by=ic, override_reason="drill over")

    assert measure_criteria_task() == 1
    assert list(MetricMeasurement.objects.values_list("incident_id", flat=True)) == [measuring.pk]
    assert status_of(earlier).missing[0] == "metric “api_error_share”: not measured yet"


def test_one_criterion_that_cannot_be_measured_leaves_the_others_measured(
    db, ic, prometheus, monkeypatch
):
    broken = open_with(prometheus.url, ic, check())
    fine = open_with(prometheus.url, ic, check(), version=broken.runbook_version)
    real = measuring.measure_criterion

    def measure_or_fail(criterion, now=None, unreachable=None):
        if criterion.incident_id == broken.pk:
            raise AttributeError("'str' object has no attribute 'get'")  # a proxy's odd JSON
        return real(criterion, now, unreachable)

    monkeypatch.setattr(measuring, "measure_criterion", measure_or_fail)

    assert measure_criteria_task() == 1
    assert list(MetricMeasurement.objects.values_list("incident_id", flat=True)) == [fine.pk]


def test_measure_now_shows_the_measurement_and_pushes_the_panel(
    db, ic, prometheus, sent, django_capture_on_commit_callbacks
):
    incident = open_with(prometheus.url, ic, check())
    client = Client()
    client.force_login(ic)
    url = f"/incidents/{incident.pk}/criteria/{criterion_of(incident).pk}/measure/"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="metric-api_ok-api_error_share"' in html
    assert "pass" in html and "&lt;= 0.1" in html and "30s" in html
    assert 'data-testid="measure-api_ok"' in html
    pushed = {group: message["html"] for group, message in sent}
    view = pushed[f"incident.{incident.pk}.view"]
    assert 'data-testid="metric-api_ok-api_error_share"' in view
    assert "measure-api_ok" not in view  # viewers get no controls


def test_measure_now_before_the_last_phase_says_why(db, ic, prometheus):
    incident = open_with(prometheus.url, ic, check(), last_phase=False)
    client = Client()
    client.force_login(ic)
    url = f"/incidents/{incident.pk}/criteria/{criterion_of(incident).pk}/measure/"
    response = client.post(url)
    assert response.status_code == 200
    assert "once the runbook&#x27;s last phase has started" in response.content.decode()
    assert not MetricMeasurement.objects.exists()


def test_resolve_needs_the_metric_met_or_an_override(db, ic, prometheus):
    incident = open_with(prometheus.url, ic, check())
    with pytest.raises(services.ServiceError):
        services.resolve_incident(incident_id=incident.pk, by=ic, override_reason="")
