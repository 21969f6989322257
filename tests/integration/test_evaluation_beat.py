"""Beat, in the control worker, evaluates the rules against a real Prometheus on its interval."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from tests.factories import SMALL_RUNBOOK, make_version
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import start_beat, wait_for
from tests.integration.prometheus import (
    Prometheus,
    TodoMetrics,
    prometheus_binary,
    serve_metrics,
    start_prometheus,
)
from triggers.models import Evaluation, Proposal

pytestmark = [
    pytest.mark.integration,
    pytest.mark.timeout(180),
    pytest.mark.skipif(prometheus_binary() is None, reason="bin/setup --dev installs prometheus"),
]

RATIO = (
    'sum(rate(http_requests_total{job="todo-api",status=~"5.."}[30s]))'
    ' / sum(rate(http_requests_total{job="todo-api"}[30s]))'
)
COUNT = 'sum(increase(http_requests_total{job="todo-api"}[30s]))'


@pytest.fixture
def metrics() -> Iterator[TodoMetrics]:
    served = serve_metrics()
    served.traffic(ok=100, failing=30)
    yield served
    served.stop()


@pytest.fixture
def prometheus(metrics: TodoMetrics, tmp_path) -> Iterator[Prometheus]:
    server = start_prometheus(tmp_path / "prometheus", metrics.port)
    wait_for(lambda: server.has(f"({COUNT}) > 100"), timeout=30, what="rates", interval=0.2)
    yield server
    server.stop()


def test_the_control_worker_evaluates_every_interval_and_proposes(transactional_db, prometheus):
    spec = copy.deepcopy(SMALL_RUNBOOK)
    spec["environments"][0]["variables"]["PROMETHEUS_URL"] = prometheus.url
    spec["triggers"] = [
        {
            "id": "api_errors",
            "description": ">10% of API requests failing",
            "rule": {
                "source": "prometheus",
                "query": RATIO,
                "samples_query": COUNT,
                "threshold": 0.1,
                "min_samples": 100,
                "for_minutes": 0,
                "mode": "propose",
            },
        }
    ]
    runbook = make_version(spec).runbook
    beat = start_beat(ARTIFACTS, RIPCORD_TRIGGER_INTERVAL="5")
    try:
        wait_for(
            lambda: Evaluation.objects.filter(runbook=runbook).count() >= 2,
            timeout=60,
            what="two evaluations by the control worker",
            interval=0.5,
        )
    finally:
        beat.stop()

    rows = list(Evaluation.objects.filter(runbook=runbook).order_by("evaluated_at"))
    assert {r.outcome for r in rows} == {"fire"}, [r.reason for r in rows]
    gap = (rows[1].evaluated_at - rows[0].evaluated_at).total_seconds()
    assert 3 <= gap <= 15, gap  # the interval, not a burst
    assert Proposal.objects.filter(runbook=runbook, environment="staging").count() == 1
