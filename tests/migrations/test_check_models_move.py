"""Moving Snapshot and CheckResult from validation to incidents loses nothing.

A database at the migration head before the move (incidents 0007, validation 0001)
holds check results and a snapshot, written through that state's own models; after
migrating to today's head, every row is there, read through today's models.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from incidents.models import CheckResult, Snapshot

MOVED = ("checkresult", "snapshot")
BEFORE = [("incidents", "0007_run_waiting_and_leftovers"), ("validation", "0001_initial")]
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.timeout(120)]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def _head():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def test_check_results_and_snapshots_survive_the_move(incident):
    old = _migrate(BEFORE)
    OldResult = old.get_model("validation", "CheckResult")
    OldSnapshot = old.get_model("validation", "Snapshot")
    at = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    OldSnapshot.objects.create(
        incident_id=incident.pk, taken_at=at, data={"counts": {"users": 300}}, error=""
    )
    for n, result in enumerate(["fail", "pass", "error"]):
        OldResult.objects.create(
            incident_id=incident.pk,
            validation_id=f"check_{n}",
            family="user_data",
            kind="sql",
            title=f"Check {n}",
            result=result,
            summary=f"summary {n}",
            evidence={"ran": "SELECT 1", "differences": [f"d{n}"]},
            checked_at=at,
        )
    # As an old database has them: the content types under validation's label.
    ContentType.objects.filter(app_label="incidents", model__in=MOVED).delete()
    for model in MOVED:
        ContentType.objects.get_or_create(app_label="validation", model=model)
    ContentType.objects.clear_cache()

    _migrate(_head())

    rows = list(CheckResult.objects.filter(incident=incident).order_by("validation_id"))
    assert [(r.validation_id, r.result, r.summary, r.evidence["differences"]) for r in rows] == [
        ("check_0", "fail", "summary 0", ["d0"]),
        ("check_1", "pass", "summary 1", ["d1"]),
        ("check_2", "error", "summary 2", ["d2"]),
    ]
    assert all(r.checked_at == at for r in rows)
    snapshot = Snapshot.objects.get(incident=incident)
    assert (snapshot.data, snapshot.taken_at, snapshot.is_usable) == (
        {"counts": {"users": 300}},
        at,
        True,
    )
    assert incident.check_results.count() == 3  # the reverse relations carried over too
    labels = ContentType.objects.filter(model__in=MOVED).values_list("app_label", "model")
    assert sorted(labels) == [("incidents", "checkresult"), ("incidents", "snapshot")]
