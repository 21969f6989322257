"""Trigger rules: the machine-checkable form of a runbook's "Rollback Triggers".

A ``prometheus`` rule is evaluated by Ripcord itself (``triggers.evaluation``)
and exported as a Prometheus alerting rule (``manage.py export_alert_rules``);
an ``alertmanager`` rule matches alerts a receiver accepts by ``alertname``.

- ``query``: PromQL giving the value compared with ``threshold``.
- ``samples_query``: PromQL giving how many observations the value stands on
  (e.g. requests in the window); below ``min_samples`` the result is
  *inconclusive*, never *fire* nor *quiet*. Without it, the number of series
  the query returned is the sample count.
- ``for_minutes``: how long the breach must hold (consecutive breaching
  evaluations covering that many minutes) before the rule fires.
- ``no_data``: ``inconclusive`` (default) or ``fire`` (no data is itself an
  outage: the rule fires, saying so). ``ignore`` is the older spelling of
  ``inconclusive``.
- ``mode``: ``propose`` (a fire proposes the rollback) or ``shadow`` (record
  what would have fired, propose nothing).

Field problems are raised here, as pydantic validators, so that
``check_runbook`` reports them as ``path:line: triggers.N.rule.FIELD: message``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

COMPARISONS = (">", ">=", "<", "<=", "==")
_PAIRS = {")": "(", "]": "[", "}": "{"}


def promql_problem(text: str) -> str | None:
    """A cheap syntax check of a PromQL expression (promtool is the full one).

    Catches what a YAML edit typically breaks: an empty query, unbalanced
    brackets, an unterminated string, a control character.
    """
    if not text.strip():
        return "is empty"
    if any(ord(ch) < 32 and ch not in "\t\n\r" for ch in text):
        return "contains a control character"
    stack: list[str] = []
    quote = ""
    escaped = False
    for ch in text:
        if quote:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == quote:
                quote = ""
            continue
        if ch in "\"'`":
            quote = ch
        elif ch in "([{":
            stack.append(ch)
        elif ch in _PAIRS and (not stack or stack.pop() != _PAIRS[ch]):
            return f"has an unmatched {ch!r}"
    if quote:
        return "has an unterminated string"
    if stack:
        return f"has an unclosed {stack[-1]!r}"
    return None


class TriggerRule(BaseModel):
    """A machine-checkable form of a trigger (evaluated by ``triggers.evaluation``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Literal["prometheus", "alertmanager"]
    query: str | None = None
    samples_query: str | None = None
    alertname: str | None = None
    comparison: Literal[">", ">=", "<", "<=", "=="] = ">"
    threshold: float | None = None
    for_minutes: int = Field(default=0, ge=0, le=24 * 60)
    min_samples: int = Field(default=1, ge=1)
    no_data: Literal["inconclusive", "fire"] = "inconclusive"
    mode: Literal["shadow", "propose"] = "propose"

    @field_validator("no_data", mode="before")
    @classmethod
    def _older_spelling(cls, value: Any) -> Any:
        return "inconclusive" if value == "ignore" else value

    @field_validator("query", "samples_query")
    @classmethod
    def _looks_like_promql(cls, value: str | None) -> str | None:
        if value is not None and (problem := promql_problem(value)):
            raise ValueError(f"PromQL {problem}")
        return value

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float | None) -> float | None:
        if value is not None and not math.isfinite(value):
            raise ValueError("threshold must be a finite number")
        return value

    @model_validator(mode="after")
    def _has_a_target(self) -> TriggerRule:
        # A missing threshold is reported by the file checks (runbooks.importers.checks):
        # stored versions from before evaluation may lack one.
        if self.source == "prometheus" and not self.query:
            raise ValueError("a prometheus rule needs 'query'")
        if self.source == "alertmanager" and not self.alertname:
            raise ValueError("an alertmanager rule needs 'alertname'")
        return self

    @property
    def evaluable(self) -> bool:
        """Ripcord can evaluate it (and export it): a query with a threshold."""
        return self.source == "prometheus" and bool(self.query) and self.threshold is not None


def alert_expression(rule: TriggerRule) -> str:
    """The PromQL of an alerting rule that fires when Ripcord's evaluation would.

    The breach (``query`` compared with ``threshold``) counts only while the
    sample count reaches ``min_samples``: the exported rule is as honest about
    thin data as Ripcord is (``and on()`` ignores labels on either side).
    """
    assert rule.query is not None and rule.threshold is not None
    breach = f"({rule.query}) {rule.comparison} {rule.threshold!r}"
    if rule.samples_query:
        return f"{breach}\nand on() ({rule.samples_query}) >= {rule.min_samples}"
    return breach


def absent_expression(rule: TriggerRule) -> str:
    """For ``no_data: fire``: the rule's query returns nothing at all."""
    assert rule.query is not None
    return f"absent({rule.query})" if not rule.samples_query else f"absent({rule.samples_query})"


def prometheus_rule_group(runbook_id: str, triggers: list[Any]) -> dict[str, Any]:
    """A Prometheus rule file (as a mapping) with one alerting rule per evaluable trigger.

    ``triggers`` are the runbook's ``TriggerSpec`` items. Every alert carries
    ``alertname`` = the trigger id and the label ``ripcord_runbook``, so a
    receiver routes it back to this runbook (``triggers.routing``).
    """
    rules: list[dict[str, Any]] = []
    for trigger in triggers:
        rule = trigger.rule
        if rule is None or not rule.evaluable:
            continue
        labels = {"ripcord_runbook": runbook_id, "ripcord_mode": rule.mode}
        annotations = {
            "summary": trigger.description,
            "threshold": f"{rule.comparison} {rule.threshold!r}",
            "min_samples": str(rule.min_samples),
        }
        entry: dict[str, Any] = {"alert": trigger.id, "expr": alert_expression(rule)}
        if rule.for_minutes:
            entry["for"] = f"{rule.for_minutes}m"
        entry |= {"labels": labels, "annotations": annotations}
        rules.append(entry)
        if rule.no_data == "fire":
            no_data: dict[str, Any] = {"alert": trigger.id, "expr": absent_expression(rule)}
            if rule.for_minutes:
                no_data["for"] = f"{rule.for_minutes}m"
            no_data["labels"] = labels | {"ripcord_no_data": "true"}
            no_data["annotations"] = annotations | {"summary": f"{trigger.description} (no data)"}
            rules.append(no_data)
    return {"groups": [{"name": f"ripcord-{runbook_id}", "rules": rules}]}
