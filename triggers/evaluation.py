"""Ripcord evaluates its runbooks' trigger rules against Prometheus, and is honest about it.

Each evaluation asks Prometheus's HTTP API (``/api/v1/query``) for the rule's ``query`` and
``samples_query`` and says one of:

- **fire**: the value breaches the threshold, on at least ``min_samples`` samples, for
  ``for_minutes`` (that many minutes of consecutive breaching evaluations); or the rule says
  ``no_data: fire`` and there is no usable data (the reason says so);
- **pending**: breaching, but not yet for ``for_minutes``;
- **quiet**: the value does not breach, on enough samples;
- **inconclusive**: no data, fewer samples than ``min_samples``, NaN/Inf, a query error, or
  Prometheus unreachable. Never a fire, never a quiet. (``no_data: fire`` turns the first
  three into a breach: data gone is the outage; a query error or an unreachable Prometheus
  is a fault of the monitoring, not of the target, and stays inconclusive.)

Where Prometheus is: the runbook environment's variable ``PROMETHEUS_URL``, else the setting
``RIPCORD_PROMETHEUS_URL``; environments with neither are not evaluated. ``evaluate_all`` runs
on the control queue every ``RIPCORD_TRIGGER_INTERVAL`` seconds (``triggers.tasks``). In
``propose`` mode a fire raises an alert through the receivers' service
(``services.raise_evaluated``), which proposes the rollback; ``shadow`` only records.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from runbooks.models import Runbook
from runbooks.rules import TriggerRule
from runbooks.selectors import latest_versions
from runbooks.specs import RunbookSpec, TriggerSpec
from triggers import services
from triggers.models import Evaluation
from triggers.payloads import ParsedAlert

NO_DATA_KINDS = frozenset({"no_data", "few_samples", "not_finite"})
_RANGE = re.compile(r"\[\s*(\d+[smhdwy](?:\d+[smhdwy])*)\s*(?::[^\]]*)?\]")
_MAX_BODY = 4 * 1024 * 1024
_MAX_REASON = 500


class QueryFailed(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # "error" (the query) or "down" (Prometheus)


def instant_query(base_url: str, query: str, timeout: float) -> list[float]:
    """The values of ``query`` now: one per series (a scalar is one value)."""
    url = base_url.rstrip("/") + "/api/v1/query?" + urllib.parse.urlencode({"query": query})
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            body = response.read(_MAX_BODY)
    except urllib.error.HTTPError as error:
        if error.code >= 500:
            raise QueryFailed("down", f"Prometheus answered HTTP {error.code}") from error
        body = error.read(_MAX_BODY)  # 400/422: the API's JSON names the query's problem
    except (OSError, ValueError) as error:
        raise QueryFailed("down", f"Prometheus unreachable: {error}") from error
    try:
        document = json.loads(body)
    except ValueError as error:
        raise QueryFailed("down", "Prometheus answered something that is not JSON") from error
    if not isinstance(document, dict) or document.get("status") != "success":
        message = document.get("error", "unknown error") if isinstance(document, dict) else "?"
        raise QueryFailed("error", f"query error: {str(message)[:300]}")
    data = document.get("data") or {}
    kind, result = data.get("resultType"), data.get("result") or []
    try:
        if kind == "scalar":
            return [float(result[1])]
        if kind == "vector":
            return [float(item["value"][1]) for item in result]
    except (TypeError, ValueError, KeyError, IndexError) as error:
        raise QueryFailed("error", "query error: malformed result") from error
    raise QueryFailed("error", f"query error: gives a {kind}, not an instant vector or scalar")


def window_of(query: str) -> str:
    """The query's longest range (e.g. "10m"), for the evidence."""
    ranges = _RANGE.findall(query)
    return max(ranges, key=_seconds) if ranges else ""


def _seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}
    return sum(int(n) * units[u] for n, u in re.findall(r"(\d+)([smhdwy])", text))


@dataclass(frozen=True)
class Reading:
    """What Prometheus said: a value and a sample count, or why there is no judgement."""

    value: float | None
    samples: float | None
    problem: str = ""  # "", or no_data / few_samples / not_finite / error / down
    detail: str = ""


def _worst(values: list[float], comparison: str, threshold: float) -> float:
    if comparison in (">", ">="):
        return max(values)
    if comparison in ("<", "<="):
        return min(values)
    return next((v for v in values if v == threshold), values[0])


def read(rule: TriggerRule, base_url: str, timeout: float) -> Reading:
    assert rule.query is not None and rule.threshold is not None
    try:
        values = instant_query(base_url, rule.query, timeout)
        counts = instant_query(base_url, rule.samples_query, timeout) if rule.samples_query else []
    except QueryFailed as failed:
        return Reading(None, None, failed.kind, str(failed))
    samples = sum(counts) if rule.samples_query else float(len(values))
    if not values:
        return Reading(None, samples, "no_data", "the query returned no series")
    if not all(math.isfinite(v) for v in values):
        bad = next(v for v in values if not math.isfinite(v))
        return Reading(None, samples, "not_finite", f"the query gives {_shown(bad)}")
    value = _worst(values, rule.comparison, rule.threshold)
    if not math.isfinite(samples):
        return Reading(value, None, "not_finite", f"the sample count is {_shown(samples)}")
    if samples < rule.min_samples:
        return Reading(
            value, samples, "few_samples", f"{samples:g} samples, fewer than {rule.min_samples}"
        )
    return Reading(value, samples)


def _shown(value: float) -> str:
    """As Prometheus writes it: NaN, +Inf, -Inf."""
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def breaches(rule: TriggerRule, value: float) -> bool:
    threshold = rule.threshold
    assert threshold is not None
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
        "==": value == threshold,
    }[rule.comparison]


def needed_evaluations(rule: TriggerRule, interval: float) -> int:
    """Consecutive breaching evaluations that cover ``for_minutes`` (at least one)."""
    return max(1, math.ceil(rule.for_minutes * 60 / interval))


def prometheus_url(spec: RunbookSpec, environment: str) -> str:
    for env in spec.environments:
        if env.id == environment:
            return env.variables.get("PROMETHEUS_URL") or settings.RIPCORD_PROMETHEUS_URL
    return ""


def evaluate(
    runbook: Runbook,
    environment: str,
    trigger: TriggerSpec,
    base_url: str,
    now: datetime | None = None,
    unreachable: set[str] | None = None,
) -> Evaluation:
    """Evaluate one rule now, record it, and (``propose`` mode) raise or resolve its alert.

    ``unreachable``: Prometheus URLs found down earlier in this round, not asked again (one
    round must not wait a timeout per rule); a URL found down now is added to it.
    """
    rule = trigger.rule
    assert rule is not None and rule.evaluable and rule.query and rule.threshold is not None
    now = now or timezone.now()
    interval = settings.RIPCORD_TRIGGER_INTERVAL
    if unreachable is not None and base_url in unreachable:
        reading = Reading(None, None, "down", "Prometheus unreachable earlier in this round")
    else:
        reading = read(rule, base_url, settings.RIPCORD_PROMETHEUS_TIMEOUT)
        if reading.problem == "down" and unreachable is not None:
            unreachable.add(base_url)
    if not reading.problem:
        assert reading.value is not None
        breach = breaches(rule, reading.value)
        sign = rule.comparison if breach else _negated(rule.comparison)
        reason = f"{reading.value:.6g} {sign} {rule.threshold:g} on {reading.samples:g} samples"
    elif reading.problem in NO_DATA_KINDS and rule.no_data == "fire":
        breach = True
        reason = f"no usable data ({reading.detail}); the rule says no_data: fire"
    else:
        breach = False
        reason = f"inconclusive: {reading.detail}"
    previous = (
        Evaluation.objects.filter(runbook=runbook, environment=environment, trigger_key=trigger.id)
        .only("outcome", "streak", "since", "evaluated_at")
        .first()
    )
    continuing = (
        previous is not None
        and previous.outcome in (Evaluation.Outcome.FIRE, Evaluation.Outcome.PENDING)
        and now - previous.evaluated_at <= timedelta(seconds=interval * 2.5)
    )
    needed = needed_evaluations(rule, interval)
    streak, since = 0, None
    if breach:
        streak = previous.streak + 1 if continuing and previous else 1
        since = previous.since if continuing and previous else now
        outcome = Evaluation.Outcome.FIRE if streak >= needed else Evaluation.Outcome.PENDING
        if outcome == Evaluation.Outcome.PENDING:
            reason += f"; breaching {streak} of {needed} evaluations"
    elif reading.problem:
        outcome = Evaluation.Outcome.INCONCLUSIVE
    else:
        outcome = Evaluation.Outcome.QUIET
    evaluation = Evaluation.objects.create(
        runbook=runbook,
        environment=environment,
        trigger_key=trigger.id,
        mode=rule.mode,
        evaluated_at=now,
        outcome=outcome,
        reason=reason[:_MAX_REASON],
        query=rule.query,
        value=reading.value if reading.value is not None and math.isfinite(reading.value) else None,
        comparison=rule.comparison,
        threshold=rule.threshold,
        samples=reading.samples if reading.samples is not None else None,
        min_samples=rule.min_samples,
        window=window_of(rule.query),
        streak=streak,
        needed=needed,
        since=since,
    )
    if rule.mode == "propose":
        if outcome == Evaluation.Outcome.FIRE:
            assert since is not None
            alert = services.raise_evaluated(
                runbook=runbook,
                environment=environment,
                trigger_key=trigger.id,
                alert=_alert(runbook, environment, trigger, evaluation, base_url, since),
            )
            Evaluation.objects.filter(pk=evaluation.pk).update(alert=alert)
            evaluation.alert = alert
        elif outcome == Evaluation.Outcome.QUIET:
            services.resolve_evaluated(
                runbook=runbook, environment=environment, trigger_key=trigger.id, at=now
            )
    return evaluation


def _negated(comparison: str) -> str:
    return {">": "≤", ">=": "<", "<": "≥", "<=": ">", "==": "≠"}[comparison]


def evidence_text(evaluation: Evaluation) -> str:
    """One line: "api_errors: 0.124 > 0.1 over 5m, 1840 samples"."""
    text = f"{evaluation.trigger_key}: {evaluation.reason}"
    if evaluation.window:
        text += f" (window {evaluation.window})"
    return text


def _alert(
    runbook: Runbook,
    environment: str,
    trigger: TriggerSpec,
    evaluation: Evaluation,
    base_url: str,
    since: datetime,
) -> ParsedAlert:
    identity = f"evaluated|{runbook.pk}|{environment}|{trigger.id}|{since.isoformat()}"
    graph = base_url.rstrip("/") + "/graph?" + urllib.parse.urlencode({"g0.expr": evaluation.query})
    return ParsedAlert(
        status="firing",
        alertname=trigger.id,
        labels={
            "alertname": trigger.id,
            "ripcord_runbook": runbook.slug,
            "ripcord_environment": environment,
            "ripcord_source": "evaluator",
        },
        starts_at=since,
        key=hashlib.sha256(identity.encode()).hexdigest(),
        annotations={
            "summary": trigger.description,
            "query": evaluation.query,
            "threshold": f"{evaluation.comparison} {evaluation.threshold:g}",
            "samples": "" if evaluation.samples is None else f"{evaluation.samples:g}",
            "min_samples": str(evaluation.min_samples),
            "window": evaluation.window,
            "reason": evaluation.reason,
        },
        source_url=graph[:2000],
        value=evidence_text(evaluation),
    )


def evaluate_all(now: datetime | None = None) -> list[Evaluation]:
    """Every evaluable rule of every current runbook, in each environment with a Prometheus."""
    done: list[Evaluation] = []
    unreachable: set[str] = set()
    for version in latest_versions():
        spec = version.parsed()
        rules = [t for t in spec.triggers if t.rule is not None and t.rule.evaluable]
        if not rules:
            continue
        for env in spec.environments:
            url = prometheus_url(spec, env.id)
            if not url:
                continue
            for trigger in rules:
                done.append(evaluate(version.runbook, env.id, trigger, url, now, unreachable))
    return done
