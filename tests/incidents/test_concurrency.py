"""Two people tick the same step at the same moment, on real PostgreSQL connections."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from incidents import services
from incidents.models import Step, TimelineEntry

pytestmark = pytest.mark.django_db(transaction=True)


def race(n: int, work) -> list[object]:
    """Run ``work(i)`` in n threads released together; return each outcome or exception."""
    barrier = threading.Barrier(n, timeout=10)
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = work(i)
        except Exception as exc:  # collected, asserted below
            results[i] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=20)
    assert not any(t.is_alive() for t in threads)
    return results


def test_concurrent_ticks_one_wins_other_sees_result(incident, step, backend, ic):
    target = step("disable-v1")
    people = [backend, ic, backend, ic]
    results = race(len(people), lambda i: services.complete_step(step_id=target.pk, by=people[i]))
    wins = [r for r in results if isinstance(r, Step)]
    conflicts = [r for r in results if isinstance(r, services.ServiceError)]
    assert len(wins) == 1
    assert len(conflicts) == len(people) - 1
    assert all(c.conflict and "Already done by" in c.message for c in conflicts)
    assert (
        TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.STEP_DONE).count()
        == 1
    )


def test_concurrent_writes_get_distinct_revisions(incident, backend):
    before = type(incident).objects.get(pk=incident.pk).revision
    race(5, lambda i: services.add_note(incident_id=incident.pk, author=backend, text=f"note {i}"))
    assert type(incident).objects.get(pk=incident.pk).revision == before + 5
    assert (
        TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.NOTE).count() == 5
    )
