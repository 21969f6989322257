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

The reading and the comparison live in ``validation.prometheus`` (the success criteria's
metric checks use them too). Where Prometheus is: the runbook environment's variable ``PROMETHEUS_URL``, else the setting
``RIPCORD_PROMETHEUS_URL``; environments with neither are not evaluated. ``evaluate_all`` runs
on the control queue every ``RIPCORD_TRIGGER_INTERVAL`` seconds (``triggers.tasks``). In
``propose`` mode a fire raises an alert through the receivers' service
(``services.raise_evaluated``), which proposes the rollback; ``shadow`` only records.
"""

from __future__ import annotations

import hashlib
import math
import urllib.parse
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
from validation import prometheus
from validation.prometheus import NO_DATA_KINDS, QueryFailed, Reading, instant_query, window_of

__all__ = ["NO_DATA_KINDS", "QueryFailed", "Reading", "evaluate", "evaluate_all", "instant_query"]

_MAX_REASON = 500


def read(rule: TriggerRule, base_url: str, timeout: float) -> Reading:
    assert rule.query is not None and rule.threshold is not None
    return prometheus.read(rule, rule.query, rule.threshold, base_url, timeout)


def breaches(rule: TriggerRule, value: float) -> bool:
    threshold = rule.threshold
    assert threshold is not None
    return prometheus.compare(value, rule.comparison, threshold)


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
        sign = rule.comparison if breach else prometheus.negated(rule.comparison)
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
