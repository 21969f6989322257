"""The incident page costs about the same at 1,000 steps and 10,000 entries as at 20 and 100.

Same number of queries for each audience, and the page's bytes bounded: finished
phases are compact (their steps fetched when expanded), the timeline shows its newest
entries. The server-time ratio is measured by bench/page_size.py, not here (a timed
unit test on a shared machine would be flaky).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from incidents.models import Incident, Step
from tests.factories import make_user
from tests.page_scene import build_incident

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(300)]


def fetch(client, user, name: str, *args: int) -> tuple[int, bytes]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return len(queries), response.content


@pytest.fixture
def scenes():
    people = (
        make_user("ic", COMMANDERS),
        make_user("backend", RESPONDERS),
        make_user("sysadmin", RESPONDERS),
    )
    small = build_incident(phases=4, steps_per_phase=5, ended=0, entries=100, people=people)
    large = build_incident(phases=10, steps_per_phase=100, ended=9, entries=10_000, people=people)
    return (*people, make_user("pm", VIEWERS)), small, large


def test_same_queries_and_bounded_bytes_at_1000_steps_and_10000_entries(client, scenes):
    users, small, large = scenes
    assert large.steps.count() == 1000 and large.timeline.count() >= 10_000
    for user in users:
        small_queries, small_page = fetch(client, user, "incidents:detail", small.pk)
        large_queries, large_page = fetch(client, user, "incidents:detail", large.pk)
        assert small_queries == large_queries, user.username
        # 100 steps of the running phase against 20, and 200 entries against 100.
        assert len(large_page) < 4 * len(small_page), (user.username, len(small_page))
        live_queries, live = fetch(client, user, "incidents:live", large.pk)
        assert live_queries <= large_queries and len(live) < len(large_page)


def test_a_finished_phase_is_compact_and_its_steps_come_on_demand(client, scenes):
    (ic, *_), _, large = scenes
    finished = large.phases.get(position=0)
    done = Step.objects.filter(phase=finished).first()
    assert done is not None
    _, page = fetch(client, ic, "incidents:detail", large.pk)
    _, live = fetch(client, ic, "incidents:live", large.pk)
    for html in (page.decode(), live.decode()):
        assert f'id="phase-progress-{finished.pk}"' in html  # its bar still takes pushes
        assert f'id="step-{done.pk}"' not in html
        assert reverse("incidents:phase_steps", args=[large.pk, finished.pk]) in html
    _, steps = fetch(client, ic, "incidents:phase_steps", large.pk, finished.pk)
    assert steps.decode().count('class="step ') == 100
    assert f'id="step-{done.pk}"' in steps.decode()
    other: Incident = scenes[1]
    assert fetch(client, ic, "incidents:phase_steps", other.pk, finished.pk)[1].strip() == b""


def test_the_full_timeline_is_paged(client, scenes):
    (ic, *_), _, large = scenes
    _, first = fetch(client, ic, "incidents:timeline", large.pk)
    html = first.decode()
    assert html.count('class="tl ') == 200 and 'rel="next"' in html
    newest = large.timeline.order_by("-at", "-pk")[:201]
    assert f'id="tl-{newest[0].pk}"' in html and f'id="tl-{newest[200].pk}"' not in html
    client.force_login(ic)
    older = client.get(
        reverse("incidents:timeline", args=[large.pk]), {"before": newest[199].pk}
    ).content.decode()
    assert f'id="tl-{newest[200].pk}"' in older and f'id="tl-{newest[199].pk}"' not in older
    assert (
        client.get(reverse("incidents:timeline", args=[large.pk]), {"before": 10**9}).status_code
        == 404
    )
