"""The evaluator against a real Prometheus: inconclusive is honest, a breach fires after for_minutes.

Debian's ``prometheus`` scrapes, every second, a /metrics this test serves with
prometheus-client (``http_requests_total{status}``, traffic the test sets).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone

from runbooks.specs import TriggerSpec
from tests.factories import SMALL_RUNBOOK, make_version
from tests.integration.processes import free_port, wait_for
from tests.integration.prometheus import (
    Prometheus,
    TodoMetrics,
    prometheus_binary,
    serve_metrics,
    start_prometheus,
)
from triggers import evaluation
from triggers.models import Alert, Evaluation, Proposal
from triggers.tasks import evaluate_triggers_task

pytestmark = [
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        prometheus_binary() is None,
        reason="prometheus is not installed (bin/setup --dev installs it)",
    ),
]

INTERVAL = 30  # seconds between evaluations: for_minutes 1 = 2 consecutive breaching ones
RATIO = (
    'sum(rate(http_requests_total{job="todo-api",status=~"5.."}[30s]))'
    ' / sum(rate(http_requests_total{job="todo-api"}[30s]))'
)
COUNT = 'sum(increase(http_requests_total{job="todo-api"}[30s]))'


def rule(**changes: Any) -> dict[str, Any]:
    base = {
        "source": "prometheus",
        "query": RATIO,
        "samples_query": COUNT,
        "comparison": ">",
        "threshold": 0.10,
        "for_minutes": 1,
        "min_samples": 100,
        "no_data": "inconclusive",
        "mode": "propose",
    }
    return base | changes


def runbook_with(rules: dict[str, dict[str, Any]], prometheus_url: str = "") -> Any:
    spec = copy.deepcopy(SMALL_RUNBOOK)
    spec["triggers"] = [
        {"id": key, "description": f"{key} (test)", "rule": value} for key, value in rules.items()
    ]
    if prometheus_url:
        spec["environments"][0]["variables"]["PROMETHEUS_URL"] = prometheus_url
    version = make_version(spec)
    return version.runbook, version.parsed()


@pytest.fixture(scope="module")
def metrics() -> Iterator[TodoMetrics]:
    served = serve_metrics()
    # 23 % of ~1,300 requests a second fail: a breach on plenty of samples.
    served.traffic(ok=100, failing=30)
    yield served
    served.stop()


@pytest.fixture(scope="module")
def prometheus(metrics: TodoMetrics, tmp_path_factory) -> Iterator[Prometheus]:
    server = start_prometheus(Path(tmp_path_factory.mktemp("prometheus")), metrics.port)
    # Two scrapes with traffic between them: rate() and increase() have data.
    wait_for(
        lambda: server.has(f"({COUNT}) > 100"), timeout=30, what="rates in Prometheus", interval=0.2
    )
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _interval(settings):
    settings.RIPCORD_TRIGGER_INTERVAL = INTERVAL
    settings.RIPCORD_PROMETHEUS_TIMEOUT = 5


def _evaluate(spec, runbook, key: str, url: str, now=None) -> Evaluation:
    trigger = next(t for t in spec.triggers if t.id == key)
    return evaluation.evaluate(runbook, "staging", trigger, url, now)


def test_a_breach_fires_after_for_minutes_of_consecutive_evaluations(db, prometheus):
    runbook, spec = runbook_with({"api_errors": rule()})
    t0 = timezone.now()

    first = _evaluate(spec, runbook, "api_errors", prometheus.url, t0)
    assert first.outcome == Evaluation.Outcome.PENDING, first.reason
    assert (first.streak, first.needed) == (1, 2)
    assert not Proposal.objects.exists()  # breaching once is not for_minutes

    second = _evaluate(spec, runbook, "api_errors", prometheus.url, t0 + timedelta(seconds=30))
    assert second.outcome == Evaluation.Outcome.FIRE, second.reason
    assert second.value is not None and second.samples is not None
    assert 0.15 < second.value < 0.35 and second.samples >= 100
    assert (second.threshold, second.comparison, second.window) == (0.10, ">", "30s")
    proposal = Proposal.objects.get(runbook=runbook, environment="staging")
    alert = Alert.objects.get(proposal=proposal)
    assert alert.receiver is None and alert.trigger_key == "api_errors"
    assert alert.annotations["query"] == RATIO and "samples" in alert.value
    assert alert.starts_at == t0  # the breach began at the first breaching evaluation

    # The same breach, evaluated again, is the same alert: nothing new.
    third = _evaluate(spec, runbook, "api_errors", prometheus.url, t0 + timedelta(seconds=60))
    assert third.outcome == Evaluation.Outcome.FIRE and third.alert_id == alert.pk
    assert (Alert.objects.count(), Proposal.objects.count()) == (1, 1)


def test_a_gap_between_evaluations_starts_the_streak_again(db, prometheus):
    runbook, spec = runbook_with({"api_errors": rule()})
    t0 = timezone.now()
    _evaluate(spec, runbook, "api_errors", prometheus.url, t0)

    later = _evaluate(spec, runbook, "api_errors", prometheus.url, t0 + timedelta(minutes=10))

    assert later.outcome == Evaluation.Outcome.PENDING and later.streak == 1


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        # The series does not exist: sum() of nothing is no series at all.
        ({"query": 'sum(rate(http_requests_total{job="nope"}[30s]))'}, "no series"),
        # Breaching, but on fewer samples than the rule asks for.
        ({"min_samples": 10_000_000}, "fewer than 10000000"),
        # The query errors in Prometheus (rate() of an instant vector) ...
        ({"query": 'rate(http_requests_total{job="todo-api"})'}, "query error"),
        # ... or gives a range vector, which is no value to compare.
        ({"query": 'http_requests_total{job="todo-api"}[30s]'}, "not an instant vector"),
        # 0/0: NaN never breaches nor clears anything.
        ({"query": "vector(0) / vector(0)", "samples_query": None}, "NaN"),
    ],
)
def test_inconclusive_is_honest(db, prometheus, changes, words):
    runbook, spec = runbook_with({"r": rule(for_minutes=0, **changes)})

    results = [
        _evaluate(spec, runbook, "r", prometheus.url, timezone.now() + timedelta(seconds=30 * i))
        for i in range(3)
    ]

    assert {r.outcome for r in results} == {Evaluation.Outcome.INCONCLUSIVE}
    assert words in results[0].reason, results[0].reason
    assert not Alert.objects.exists() and not Proposal.objects.exists()


@pytest.mark.parametrize(
    ("changes", "fires"),
    [
        ({"query": 'sum(rate(http_requests_total{job="nope"}[30s]))'}, True),
        ({"min_samples": 10_000_000}, True),
        # A query error is the monitoring's fault, not the target's: still never fires.
        ({"query": 'rate(http_requests_total{job="todo-api"})'}, False),
    ],
)
def test_no_data_fire_fires_and_says_so(db, prometheus, changes, fires):
    runbook, spec = runbook_with({"r": rule(for_minutes=0, no_data="fire", **changes)})

    result = _evaluate(spec, runbook, "r", prometheus.url)

    if fires:
        assert result.outcome == Evaluation.Outcome.FIRE
        assert "no_data: fire" in result.reason
        assert Proposal.objects.filter(runbook=runbook).exists()
    else:
        assert result.outcome == Evaluation.Outcome.INCONCLUSIVE
        assert not Proposal.objects.exists()


def test_quiet_on_enough_samples_and_resolves_a_fired_alert(db, prometheus):
    runbook, spec = runbook_with({"r": rule(for_minutes=0)})
    fired = _evaluate(spec, runbook, "r", prometheus.url)
    assert fired.outcome == Evaluation.Outcome.FIRE
    # The file is edited: the same trigger with a threshold the traffic does not reach.
    edited = TriggerSpec.model_validate(
        {"id": "r", "description": "r", "rule": rule(for_minutes=0, threshold=0.9)}
    )

    quiet = evaluation.evaluate(runbook, "staging", edited, prometheus.url)

    assert quiet.outcome == Evaluation.Outcome.QUIET, quiet.reason
    assert "≤ 0.9" in quiet.reason
    assert Alert.objects.get().status == Alert.Status.RESOLVED


def test_shadow_mode_records_what_would_have_fired_and_proposes_nothing(db, prometheus):
    runbook, spec = runbook_with({"r": rule(for_minutes=0, mode="shadow")})

    result = _evaluate(spec, runbook, "r", prometheus.url)

    assert result.outcome == Evaluation.Outcome.FIRE and result.mode == "shadow"
    assert not Alert.objects.exists() and not Proposal.objects.exists()


def test_prometheus_down_is_inconclusive(db, prometheus, tmp_path, metrics):
    nobody = f"http://127.0.0.1:{free_port()}"
    runbook, spec = runbook_with({"r": rule(for_minutes=0, no_data="fire")})

    result = _evaluate(spec, runbook, "r", nobody)

    assert result.outcome == Evaluation.Outcome.INCONCLUSIVE
    assert "Prometheus unreachable" in result.reason
    assert not Proposal.objects.exists()


def test_a_prometheus_that_stops_makes_the_rule_inconclusive(db, metrics, tmp_path):
    own = start_prometheus(tmp_path / "prometheus", metrics.port)
    runbook, spec = runbook_with({"r": rule(for_minutes=0, threshold=0.9)})
    try:
        wait_for(lambda: own.has(f"({COUNT}) > 100"), timeout=30, what="rates", interval=0.2)
        assert _evaluate(spec, runbook, "r", own.url).outcome == Evaluation.Outcome.QUIET
    finally:
        own.stop()

    after = _evaluate(spec, runbook, "r", own.url)

    assert after.outcome == Evaluation.Outcome.INCONCLUSIVE  # not "quiet": nobody measured


def test_the_beat_task_evaluates_environments_that_have_a_prometheus(db, prometheus):
    runbook, _spec = runbook_with({"api_errors": rule(for_minutes=0)}, prometheus.url)

    # apply() runs the task here; its EagerResult is read, not joined: an
    # in-process worker started by an earlier test makes Celery refuse .get().
    result = evaluate_triggers_task.apply(throw=True)
    assert result.successful()

    # staging names a Prometheus; production names none and is not evaluated.
    rows = list(Evaluation.objects.filter(runbook=runbook))
    assert [(r.environment, r.outcome) for r in rows] == [("staging", "fire")]
    assert Proposal.objects.filter(runbook=runbook, environment="staging").exists()


def test_a_round_asks_a_prometheus_that_is_down_once(db, prometheus):
    nobody = f"http://127.0.0.1:{free_port()}"
    runbook_with({"a": rule(for_minutes=0), "b": rule(for_minutes=0)}, nobody)

    rounds = evaluation.evaluate_all()

    assert [r.outcome for r in rounds] == ["inconclusive", "inconclusive"]
    assert "Prometheus unreachable:" in rounds[0].reason
    assert rounds[1].reason.endswith("unreachable earlier in this round")
