"""Metric checks of success criteria (runbooks.metric_checks): located errors in check_runbook."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runbooks.metric_checks import MetricCheck, with_offset
from tests.runbooks.test_rules import _broken_copy

pytestmark = pytest.mark.timeout(60)


def _first_error(path) -> str:
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_runbook", str(path), stdout=StringIO(), stderr=err)
    return err.getvalue().splitlines()[0]


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        (
            "        threshold: 1.1\n",
            "        !threshold: high\n",
            "success_criteria[2].metrics[0].threshold",
            "valid number",
        ),
        (
            '        comparison: "<="\n        threshold: 0.10\n',
            '        !comparison: "=<"\n        threshold: 0.10\n',
            "success_criteria[1].metrics[0].comparison",
            "'<='",
        ),
        (
            "        hold_minutes: 5\n        min_samples: 200\n",
            "        !hold_minutes: -1\n        min_samples: 200\n",
            "success_criteria[2].metrics[0].hold_minutes",
            "greater than or equal to 0",
        ),
        (
            "        min_samples: 100\n",
            "        min_samples: 100\n        !for_minutes: 5\n",
            "success_criteria[1].metrics[0].for_minutes",
            "Extra inputs are not permitted",
        ),
        (
            "        min_samples: 100\n",
            "        min_samples: 100\n      !- id: api_error_share\n        query: up\n"
            "        threshold: 1\n",
            "success_criteria[1].metrics[1].id",
            "duplicate metric id 'api_error_share'",
        ),
    ],
)
def test_check_runbook_locates_a_broken_metric_check(tmp_path, old, new, field, words):
    marked = new.index("!")
    path, first_line = _broken_copy(tmp_path, old, new.replace("!", ""))
    line = first_line + new[:marked].count("\n")
    first = _first_error(path)
    assert first.startswith(f"{path}:{line}: {field}"), first
    assert words in first, first


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("sum(rate(x[5m])", "PromQL has an unclosed '('"),
        ("rate(x[30m] offset $incident_start)", "unknown placeholder $incident_start"),
    ],
)
def test_a_metric_query_is_checked_like_a_rule(query, words):
    with pytest.raises(ValueError, match=words.replace("$", r"\$").replace("(", r"\(")):
        MetricCheck(id="m", query=query, threshold=1)


def test_the_incident_offset_is_the_time_since_the_incident_opened():
    check = MetricCheck(id="m", query="rate(x[30m] offset $incident_offset)", threshold=1)
    assert (check.comparison, check.hold_minutes, check.min_samples) == ("<=", 0, 1)
    assert with_offset(check.query, 1834.7) == "rate(x[30m] offset 1834s)"
    assert with_offset(check.query, 0) == "rate(x[30m] offset 1s)"


def test_the_incident_offset_may_add_a_margin_before_the_incident():
    check = MetricCheck(id="m", query="rate(x[30m] offset $incident_offset+30m)", threshold=1)

    assert with_offset(check.query, 1834.7) == "rate(x[30m] offset 3634s)"
    assert with_offset("a offset $incident_offset+15s / b offset $incident_offset", 10) == (
        "a offset 25s / b offset 10s"
    )


@pytest.mark.parametrize("margin", ["+30", "+30d", "+m", "+-5m", "+30m+5m"])
def test_a_margin_that_is_not_a_duration_is_refused(margin):
    with pytest.raises(ValueError, match="optional margin"):
        MetricCheck(id="m", query=f"rate(x[30m] offset $incident_offset{margin})", threshold=1)


def test_a_minus_margin_is_refused_not_turned_into_broken_promql():
    with pytest.raises(ValueError, match="optional margin"):
        MetricCheck(id="m", query="rate(x[30m] offset $incident_offset-30m)", threshold=1)


def test_a_metric_check_cannot_compare_for_equality():
    # With several series the worst one counts; an equality has no worst.
    with pytest.raises(ValueError, match="comparison"):
        MetricCheck(id="m", query="up", comparison="==", threshold=1)
