"""The incident page costs about the same at 1,000 steps and 10,000 entries as at 20 and 100.

Whichever phase runs (the first of ten, or the last), the page renders the steps of
that phase only: the others are compact (their head, counts and owners; their steps
fetched when expanded), and the timeline shows its newest entries. So the number of
step fragments is bounded by the running phase, the queries are the same as the small
page's for each audience, and the server time stays near the small page's.

The strict time bound (big page <= 2x the 20-step page, medians after a warm-up, side
by side) is measured by bench/page_size.py, whose table goes in the notes: on this
shared 2-core machine a wall-clock bound of 2x in a unit test would fail whenever
another process runs. Here the CPU time of this process is compared, interleaved,
against a looser 3x: it catches the regression that matters (rendering every phase's
steps again costs ~8x) without depending on the machine's load.
"""

from __future__ import annotations

import statistics
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from incidents import broadcast
from incidents.events import Change
from incidents.models import Incident, Phase, Step
from tests.factories import make_user
from tests.page_scene import build_incident

pytestmark = [pytest.mark.django_db, pytest.mark.timeout(600)]

STEP = 'class="step '


def fetch(client, user, name: str, *args: int, htmx: bool = False) -> tuple[int, bytes]:
    client.force_login(user)
    headers = {"HX-Request": "true"} if htmx else {}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(name, args=args), headers=headers)
    assert response.status_code == 200
    return len(queries), response.content


@pytest.fixture
def people():
    return (
        make_user("ic", COMMANDERS),
        make_user("backend", RESPONDERS),
        make_user("sysadmin", RESPONDERS),
    )


@pytest.fixture
def users(people):
    return (*people, make_user("pm", VIEWERS))


@pytest.fixture
def small(people) -> Incident:
    """The 20-step page (4 phases of 5, in its first), 100 entries."""
    return build_incident(phases=4, steps_per_phase=5, ended=0, entries=100, people=people)


@pytest.fixture
def last(people) -> Incident:
    """1,000 steps (10 phases of 100) in the last phase, 10,000 entries."""
    return build_incident(phases=10, steps_per_phase=100, ended=9, entries=10_000, people=people)


@pytest.fixture
def first(people) -> Incident:
    """1,000 steps in the first phase (nothing finished yet), 10,000 entries."""
    return build_incident(phases=10, steps_per_phase=100, ended=0, entries=10_000, people=people)


def cpu_ms(client, url: str) -> float:
    start = time.process_time()
    response = client.get(url)
    assert response.status_code == 200
    return (time.process_time() - start) * 1000


def test_only_the_running_phase_renders_its_steps_with_the_same_queries(
    client, users, small, last, first
):
    assert last.steps.count() == 1000 and last.timeline.count() >= 10_000
    for user in users:
        small_queries, small_page = fetch(client, user, "incidents:detail", small.pk)
        # A small runbook still reads as one plan: every phase in full.
        assert small_page.decode().count(STEP) == 20
        for large in (last, first):
            large_queries, large_page = fetch(client, user, "incidents:detail", large.pk)
            assert small_queries == large_queries, user.username
            # The running phase's 100 steps; the nine other phases compact.
            assert large_page.decode().count(STEP) == 100, user.username
            assert large_page.decode().count('class="phase compact"') == 9
            # 100 steps of the running phase against 20, and 200 entries against 100.
            assert len(large_page) < 4 * len(small_page), (user.username, len(small_page))
            live_queries, live = fetch(client, user, "incidents:live", large.pk)
            assert live_queries <= large_queries and len(live) < len(large_page)
            assert live.decode().count(STEP) == 100


def test_the_large_page_costs_at_most_three_times_the_small_one(client, people, small, last, first):
    client.force_login(people[0])
    urls = {
        name: reverse("incidents:detail", args=[incident.pk])
        for name, incident in (("small", small), ("last", last), ("first", first))
    }
    times: dict[str, list[float]] = {name: [] for name in urls}
    for url in urls.values():
        cpu_ms(client, url)  # warm: templates compiled, the runbook's spec parsed
    for _ in range(7):
        for name, url in urls.items():  # interleaved: a busy moment hits all three
            times[name].append(cpu_ms(client, url))
    medians = {name: statistics.median(t) for name, t in times.items()}
    assert medians["last"] <= 3 * medians["small"], medians
    assert medians["first"] <= 3 * medians["small"], medians


def test_a_compact_phase_shows_its_counts_and_owners_and_fetches_its_steps(
    client, people, small, last, first
):
    ic = people[0]
    for large, position in ((last, 0), (first, 5)):  # a finished phase, a phase not started
        phase = large.phases.get(position=position)
        step = Step.objects.filter(phase=phase).first()
        assert step is not None
        steps_url = reverse("incidents:phase_steps", args=[large.pk, phase.pk])
        for name in ("incidents:detail", "incidents:live"):
            html = fetch(client, ic, name, large.pk)[1].decode()
            assert f'id="phase-progress-{phase.pk}"' in html  # its bar still takes pushes
            assert f'id="step-{step.pk}"' not in html
            assert steps_url in html
        page = fetch(client, ic, "incidents:detail", large.pk)[1].decode()
        summary = "Phase ended" if position == 0 else "Not started"
        assert f"{summary} · show its 100 steps" in page
        assert "Owners: Backend Engineer, System Administrator" in page
        # htmx: the steps alone, to put in the fold.
        _, steps = fetch(client, ic, "incidents:phase_steps", large.pk, phase.pk, htmx=True)
        assert steps.decode().count(STEP) == 100 and f'id="step-{step.pk}"' in steps.decode()
        assert "<html" not in steps.decode()
        # Without JavaScript the fold's link opens the phase's own page.
        _, full = fetch(client, ic, "incidents:phase_steps", large.pk, phase.pk)
        assert "<html" in full.decode() and full.decode().count(STEP) == 100
        assert f'id="phase-head-{phase.pk}"' in full.decode()
    client.force_login(ic)
    other = last.phases.get(position=0)
    url = reverse("incidents:phase_steps", args=[small.pk, other.pk])
    assert client.get(url, headers={"HX-Request": "true"}).status_code == 404
    assert client.get(url).status_code == 404


def test_a_push_for_a_step_of_a_compact_phase_updates_its_counts(client, people, first):
    """The step is not on the page (live.js skips fragments it has no element for);
    its phase's progress bar, which the compact head shows, is in the same push."""
    ic = people[0]
    phase = first.phases.get(position=3)
    step = Step.objects.filter(phase=phase).first()
    assert step is not None
    page = fetch(client, ic, "incidents:detail", first.pk)[1].decode()
    assert f'id="step-{step.pk}"' not in page and f'id="phase-progress-{phase.pk}"' in page
    Step.objects.filter(pk=step.pk).update(state=Step.State.DONE)
    pushed = broadcast.render_change(Change(first.pk, steps={step.pk}))
    for html in pushed.values():
        assert f'id="phase-progress-{phase.pk}"' in html
        assert '<span class="count">1 / 100</span>' in html


def test_the_phases_shown_in_full_follow_the_running_one(people):
    """Later phases are shown while they fit in FULL_STEPS; a phase with a run under way
    is always shown; finished phases never are."""
    from incidents import selectors

    incident: Incident = build_incident(
        phases=6, steps_per_phase=15, ended=1, entries=0, people=people
    )
    shown = [pv.phase.position for pv in selectors.page_phases(incident) if not pv.compact]
    assert shown == [1, 2]  # 15 + 15 <= 40 < 15 + 15 + 15
    busy = Phase.objects.get(incident=incident, position=4)
    step = Step.objects.filter(phase=busy, kind="shell").first()
    assert step is not None
    step.runs.update(status="running")
    shown = [pv.phase.position for pv in selectors.page_phases(incident) if not pv.compact]
    assert shown == [1, 2, 4]
    pages = {pv.phase.position: pv for pv in selectors.page_phases(incident)}
    assert pages[0].compact and pages[0].steps == [] and pages[0].progress.total == 15
    assert pages[4].owner_roles == ("backend_engineer", "system_administrator")


def test_the_full_timeline_is_paged(client, people, last):
    ic, large = people[0], last
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
