"""The runbook page loads each rule's last evaluations (templates/triggers/_evaluations.html)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from triggers.models import Evaluation

pytestmark = pytest.mark.timeout(60)


def _row(runbook, outcome: str, seconds: int, **extra) -> Evaluation:
    fields = {
        "runbook": runbook,
        "environment": "staging",
        "trigger_key": "api_errors",
        "mode": "propose",
        "evaluated_at": timezone.now() - timedelta(seconds=seconds),
        "outcome": outcome,
        "reason": f"reason {seconds}",
        "query": "up",
        "value": 0.124,
        "comparison": ">",
        "threshold": 0.1,
        "samples": 1840,
        "min_samples": 100,
        "window": "5m",
    }
    return Evaluation.objects.create(**fields | extra)


def test_runbook_page_shows_the_last_evaluations_of_each_rule(client, runbook, ic):
    for seconds in range(0, 600, 60):  # ten evaluations: the fragment shows the last five
        _row(runbook, "quiet", seconds + 5)
    _row(runbook, "inconclusive", 1, value=None, samples=3, reason="inconclusive: 3 samples")
    client.force_login(ic)

    page = client.get(reverse("runbooks:detail", args=[runbook.slug])).content.decode()
    url = reverse("triggers:evaluations", args=[runbook.slug])
    assert f'hx-get="{url}"' in page

    fragment = client.get(url).content.decode()
    assert fragment.count('class="evaluation ') == 5
    assert "Inconclusive" in fragment and "inconclusive: 3 samples" in fragment
    assert "0.124 &gt; 0.1" in fragment and "1840 (≥ 100)" in fragment and "5m" in fragment


def test_no_evaluations_says_how_to_get_them(client, runbook, ic):
    client.force_login(ic)

    fragment = client.get(reverse("triggers:evaluations", args=[runbook.slug])).content.decode()

    assert "Not evaluated yet" in fragment and "PROMETHEUS_URL" in fragment


def test_api_lists_the_last_evaluations(client, runbook, ic):
    _row(runbook, "pending", 1, streak=1, needed=2)
    client.force_login(ic)

    answer = client.get(f"/api/v1/runbooks/{runbook.slug}/evaluations")

    assert answer.status_code == 200
    [row] = answer.json()
    assert (row["trigger"], row["outcome"], row["streak"], row["needed"]) == (
        "api_errors",
        "pending",
        1,
        2,
    )
    assert (row["value"], row["threshold"], row["samples"], row["window"]) == (
        0.124,
        0.1,
        1840,
        "5m",
    )
    assert client.get("/api/v1/runbooks/nope/evaluations").status_code == 404
