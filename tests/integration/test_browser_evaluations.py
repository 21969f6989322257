"""A person on the runbook page sees each rule's last evaluations, inconclusive ones as such."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.factories import SMALL_RUNBOOK, make_version
from triggers.models import Evaluation

pytestmark = [
    pytest.mark.integration,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.timeout(90),
]


@pytest.fixture(autouse=True, scope="module")
def _allow_orm_beside_playwright() -> Iterator[None]:
    """Playwright's sync API runs a loop in the test thread (shared/PITFALLS.md)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        yield


def test_the_runbook_page_shows_the_last_evaluations(ic, open_page):
    spec = copy.deepcopy(SMALL_RUNBOOK)
    spec["triggers"] = [
        {
            "id": "api_errors",
            "description": ">10% of API requests failing",
            "rule": {"source": "prometheus", "query": "up", "threshold": 0.1, "min_samples": 100},
        }
    ]
    runbook = make_version(spec).runbook
    common = {
        "runbook": runbook,
        "environment": "staging",
        "trigger_key": "api_errors",
        "mode": "propose",
        "query": "up",
        "comparison": ">",
        "threshold": 0.1,
        "min_samples": 100,
        "window": "5m",
    }
    now = timezone.now()
    Evaluation.objects.create(
        **common,
        evaluated_at=now - timedelta(seconds=60),
        outcome="inconclusive",
        reason="inconclusive: 12 samples, fewer than 100",
        samples=12,
    )
    Evaluation.objects.create(
        **common,
        evaluated_at=now,
        outcome="fire",
        reason="0.124 > 0.1 on 1840 samples",
        value=0.124,
        samples=1840,
    )

    page = open_page(ic, f"/runbooks/{runbook.slug}/")

    table = page.locator("table.rule-evaluations")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Fire")
    expect(rows.nth(0)).to_contain_text("0.124 > 0.1")
    expect(rows.nth(0)).to_contain_text("1840 (≥ 100)")
    expect(rows.nth(1)).to_contain_text("Inconclusive")
    expect(rows.nth(1)).to_contain_text("fewer than 100")
