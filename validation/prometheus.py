"""Asking Prometheus for a value and judging it honestly: shared by trigger rules and criteria.

``triggers.evaluation`` asks whether a rule *breaches* (fire/pending/quiet); the success
criteria's metric checks (``incidents.measuring``) ask whether a metric *passes*. Both read
through ``read``: the instant value of ``query`` (the worst series against the
comparison) and the sample count of ``samples_query`` (or the number of series). A
reading has a ``problem`` and no judgement when there is no data, fewer samples than
``min_samples``, a NaN/Inf, a query error, or Prometheus is unreachable.
"""

from __future__ import annotations

import json
import math
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from typing import Protocol

NO_DATA_KINDS = frozenset({"no_data", "few_samples", "not_finite"})
_RANGE = re.compile(r"\[\s*(\d+[smhdwy](?:\d+[smhdwy])*)\s*(?::[^\]]*)?\]")
_MAX_BODY = 4 * 1024 * 1024


class Judged(Protocol):
    """What ``read`` needs of a rule or a metric check."""

    @property
    def samples_query(self) -> str | None: ...
    @property
    def comparison(self) -> str: ...
    @property
    def min_samples(self) -> int: ...


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
    if not isinstance(data, dict):
        raise QueryFailed("error", "query error: malformed result")
    kind, result = data.get("resultType"), data.get("result") or []
    try:
        if kind == "scalar":
            return [float(result[1])]
        if kind == "vector":
            return [float(item["value"][1]) for item in result]
    except (TypeError, ValueError, KeyError, IndexError) as error:
        raise QueryFailed("error", "query error: malformed result") from error
    raise QueryFailed("error", f"query error: gives a {kind}, not an instant vector or scalar")


WINDOW_CHARS = 32  # what the evidence rows keep of a range (MetricMeasurement, Evaluation)


def window_of(query: str) -> str:
    """The query's longest range (e.g. "10m"), for the evidence; a range written longer
    than ``WINDOW_CHARS`` (``[1h1h1h...]``, valid PromQL) is cut there."""
    ranges = _RANGE.findall(query)
    return max(ranges, key=seconds_of)[:WINDOW_CHARS] if ranges else ""


def seconds_of(text: str) -> float:
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


def read(
    rule: Judged, query: str, threshold: float, base_url: str, timeout: float, *, worst: str = ""
) -> Reading:
    """Read ``query`` (and the rule's samples) now.

    ``worst``: the comparison whose breach matters most among several series (a trigger's
    own; a metric check that passes on ``<=`` is failed by its largest series, so ``>``).
    """
    try:
        values = instant_query(base_url, query, timeout)
        counts = instant_query(base_url, rule.samples_query, timeout) if rule.samples_query else []
    except QueryFailed as failed:
        return Reading(None, None, failed.kind, str(failed))
    samples = sum(counts) if rule.samples_query else float(len(values))
    if not values:
        return Reading(None, samples, "no_data", "the query returned no series")
    if not all(math.isfinite(v) for v in values):
        bad = next(v for v in values if not math.isfinite(v))
        return Reading(None, samples, "not_finite", f"the query gives {shown(bad)}")
    value = _worst(values, worst or rule.comparison, threshold)
    if not math.isfinite(samples):
        return Reading(value, None, "not_finite", f"the sample count is {shown(samples)}")
    if samples < rule.min_samples:
        return Reading(
            value, samples, "few_samples", f"{samples:g} samples, fewer than {rule.min_samples}"
        )
    return Reading(value, samples)


def shown(value: float) -> str:
    """As Prometheus writes it: NaN, +Inf, -Inf."""
    return "NaN" if math.isnan(value) else ("+Inf" if value > 0 else "-Inf")


def compare(value: float, comparison: str, threshold: float) -> bool:
    return {
        ">": value > threshold,
        ">=": value >= threshold,
        "<": value < threshold,
        "<=": value <= threshold,
        "==": value == threshold,
    }[comparison]


def negated(comparison: str) -> str:
    """The sign that says the comparison does not hold (for the evidence)."""
    return {">": "≤", ">=": "<", "<": "≥", "<=": ">", "==": "≠"}[comparison]


def opposite(comparison: str) -> str:
    """The comparison that fails a check passing on ``comparison`` (its worst series)."""
    return {">": "<", ">=": "<", "<": ">", "<=": ">", "==": "=="}[comparison]
