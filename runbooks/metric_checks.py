"""Metric checks of a success criterion: the metric proves recovery (a trigger rule, inverted).

A criterion may list ``metrics``; each is measured against Prometheus while the incident
is in the runbook's last phase (``incidents.measuring``) and is *met* when it has passed,
on at least ``min_samples`` samples, continuously for ``hold_minutes``:

- ``id``: the check's key within the criterion; ``title``: words for people (optional).
- ``query``: PromQL giving the value; it *passes* when ``value <comparison> threshold``
  (default ``<=``). With several series, the worst one counts.
- ``samples_query``: PromQL giving how many observations the value stands on; below
  ``min_samples`` the measurement is *inconclusive*, which is never met and breaks the hold.
- ``hold_minutes``: how long it must keep passing (consecutive passing measurements).
- ``$incident_offset`` in a query is replaced, when measured, by the time since the
  incident opened (e.g. ``1834s``): ``rate(x[30m] offset $incident_offset)`` is the 30
  minutes before the incident. A margin may follow, ``$incident_offset+30m``: the time
  since the incident opened plus 30 minutes. A baseline wants one: a service degrades
  before anyone opens the incident (a trigger's window and its ``for_minutes``), and a
  baseline window that holds those minutes holds the slow requests it is meant to be
  compared against (p95 moves once 5 % of the window is slow).

A check does not name a trigger to invert: it carries its own query (a YAML anchor can
share one text between a trigger rule and a check). Field problems are pydantic errors,
so ``check_runbook`` reports them located (``success_criteria[N].metrics[M].FIELD``).
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from runbooks.rules import promql_problem

INCIDENT_OFFSET = "$incident_offset"
_PLACEHOLDER = re.compile(r"\$[A-Za-z_]\w*")
_OFFSET = re.compile(r"\$incident_offset(?:\+(\d{1,6})([smh]))?(?![\w+\-])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600}
_ID = r"^[a-z0-9][a-z0-9_-]{0,62}$"


class MetricCheck(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: Annotated[str, Field(pattern=_ID)]
    title: str = Field(default="", max_length=300)
    query: str
    samples_query: str | None = None
    # No "==": with several series, "the worst one" of an equality has no meaning.
    comparison: Literal[">", ">=", "<", "<="] = "<="
    threshold: float
    hold_minutes: int = Field(default=0, ge=0, le=24 * 60)
    min_samples: int = Field(default=1, ge=1)

    @field_validator("query", "samples_query")
    @classmethod
    def _looks_like_promql(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if problem := promql_problem(value):
            raise ValueError(f"PromQL {problem}")
        unknown = sorted({p for p in _PLACEHOLDER.findall(value) if p != INCIDENT_OFFSET})
        if unknown:
            raise ValueError(f"unknown placeholder {unknown[0]} (only {INCIDENT_OFFSET})")
        if value.count(INCIDENT_OFFSET) != len(_OFFSET.findall(value)):
            raise ValueError(
                f"{INCIDENT_OFFSET} takes an optional margin written +N followed by s, m or h "
                f"(e.g. {INCIDENT_OFFSET}+30m)"
            )
        return value

    @field_validator("threshold")
    @classmethod
    def _finite(cls, value: float) -> float:
        if not math.isfinite(value):
            raise ValueError("threshold must be a finite number")
        return value


def with_offset(query: str, seconds: float) -> str:
    """``query`` with ``$incident_offset[+margin]`` replaced by ``seconds`` (at least 1s)
    plus the margin."""

    def offset(match: re.Match[str]) -> str:
        margin = int(match[1]) * _UNIT_SECONDS[match[2]] if match[1] else 0
        return f"{max(1, int(seconds)) + margin}s"

    return _OFFSET.sub(offset, query)
