"""The full log in the browser (incidents.logview, the run_log_view page) on real PostgreSQL,
and the result line of a finished run.

Logs are stored as chunks cut anywhere (inside a line, inside a UTF-8 sequence); a window
of lines and a search must give what splitting the whole log on newlines gives.
"""

from __future__ import annotations

import itertools
import random
import re
from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from incidents import logview
from incidents.execution.logsink import tail_text
from incidents.models import Incident, Step, StepRun, StepRunLogChunk

pytestmark = pytest.mark.django_db


def stored_run(incident: Incident, data: bytes, cuts: list[int]) -> StepRun:
    """A finished run of the incident's first step whose log is ``data`` cut at ``cuts``."""
    step = Step.objects.filter(incident=incident).order_by("position").first()
    assert step is not None
    ends = [0, *sorted(set(cuts)), len(data)]
    run = StepRun.objects.create(
        step=step,
        incident=incident,
        attempt=1,
        status=StepRun.Status.SUCCEEDED,
        requested_by=incident.opened_by,
        requested_at=timezone.now(),
        exit_code=0,
        log_lines=data.count(b"\n") + (bool(data) and not data.endswith(b"\n")),
        log_bytes=len(data),
    )
    for seq, (a, b) in enumerate(itertools.pairwise(ends)):
        if a < b:
            StepRunLogChunk.objects.create(
                run=run, seq=seq, first_line=data[:a].count(b"\n"), data=data[a:b]
            )
    return run


def reference(data: bytes) -> list[str]:
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    return [tail_text(line) for line in lines]


LOG = (
    b"".join(
        f"line {i} caf\u00e9 {'x' * (i % 37)}{' NEEDLE' if i % 250 == 7 else ''}\n".encode()
        for i in range(1, 2001)
    )
    + b"tail without newline NEEDLE"
)


def test_windows_match_splitting_the_whole_log_wherever_chunks_are_cut(incident):
    rnd = random.Random(12)
    cuts = [*rnd.sample(range(1, len(LOG)), 60), LOG.index(b"\xc3") + 1]  # one inside "é"
    run = stored_run(incident, LOG, cuts)
    want = reference(LOG)
    assert run.log_lines == len(want) == 2001
    for first in [1, 2, 499, 500, 501, 1234, 1999, 2001, *rnd.sample(range(1, 2002), 20)]:
        window = logview.lines(run, first)
        assert [line.number for line in window.lines] == list(
            range(first, min(first + logview.PAGE_LINES, 2002))
        )
        assert [line.text for line in window.lines] == want[first - 1 : first - 1 + 500]
    assert logview.lines(run, 10**9).first == 2001  # past the end: the last line
    assert logview.window_start(1234, 2001) == 1001


def test_search_answers_the_numbers_of_the_lines_holding_the_text(incident):
    run = stored_run(incident, LOG, random.Random(3).sample(range(1, len(LOG)), 40))
    want = [i + 1 for i, line in enumerate(reference(LOG)) if "needle" in line.lower()]
    found = logview.search(run, "needle")
    assert found.hits == want and not found.more
    assert want[-1] == 2001  # the last line, without a final newline, is searched too
    assert logview.search(run, "café 123").hits == []  # nothing spans lines
    assert logview.search(run, "line 1234 caf").hits == [1234]


def test_search_stops_at_its_limit(incident):
    data = b"hit\n" * (logview.MAX_HITS + 50)
    run = stored_run(incident, data, [1000, 1001])
    found = logview.search(run, "HIT")
    assert found.more and found.hits == list(range(1, logview.MAX_HITS + 1))


def test_a_huge_line_is_cut_on_the_page(incident):
    data = b"a\n" + b"y" * 3_000_000 + b"\nz\n"
    run = stored_run(incident, data, [1_000_000, 2_000_000])
    window = logview.lines(run, 1)
    assert [line.text[:3] for line in window.lines] == ["a", "yyy", "z"]
    assert window.lines[1].cut and len(window.lines[1].text) == logview.MAX_LINE_CHARS


def page(user, run: StepRun, **query: str):
    client = Client()
    client.force_login(user)
    return client.get(reverse("incidents:run_log_view", args=[run.incident_id, run.pk]), query)


def test_the_page_shows_a_window_with_anchors_and_search_hits(incident, backend, viewer):
    run = stored_run(incident, LOG, [100, 5000, 20000])
    response = page(backend, run, line="1234", q="needle")
    html = response.content.decode()
    assert response.status_code == 200
    assert "Lines 1001\N{EN DASH}1500 of 2001" in html
    assert 'id="L1234"' in html and 'href="?line=1234&amp;q=needle#L1234"' in html
    assert 'href="?line=1757&amp;q=needle#L1757"' in html  # a hit outside the window
    assert '<div class="log-line hit" id="L1257">' in html
    assert page(viewer, run).status_code == 403  # as for the download


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ("line=abc", 400),
        ("line=-3", 400),
        ("line=" + "1" * 40, 400),
        ("q=" + "x" * 201, 400),
        ("q=nul%00", 400),
        ("q=%ED%A0%80", 200),  # a lone surrogate's bytes: replaced, searched, no hit
        ("q=%FF", 200),
        ("line=0", 200),
    ],
)
def test_bad_input_is_a_clear_refusal_never_a_crash(incident, backend, query, status):
    run = stored_run(incident, LOG, [])
    client = Client()
    client.force_login(backend)
    url = reverse("incidents:run_log_view", args=[run.incident_id, run.pk])
    assert client.get(f"{url}?{query}").status_code == status


def run_line(html: str, run: StepRun) -> str:
    """The text of the step card's result line, tags and spacing removed."""
    card = html[html.index(f'id="step-{run.step_id}"') :]
    line = card[card.index('data-testid="run-line"') :]
    line = line[line.index(">") + 1 : line.index("</p>")]
    return " ".join(re.sub(r"<[^>]+>", "", line).split())


def test_the_result_line_says_each_thing_once(incident, backend):
    """'Succeeded · exit 0 · 12.3 s', never 'exit 0 · exit 0'; a summary that says more stays."""
    run = stored_run(incident, b"ok\n", [])
    start = timezone.now()
    StepRun.objects.filter(pk=run.pk).update(
        started_at=start, finished_at=start + timedelta(seconds=12.3), summary="exit 0"
    )
    client = Client()
    client.force_login(backend)
    url = reverse("incidents:detail", args=[incident.pk])
    assert run_line(client.get(url).content.decode(), run) == "Succeeded · exit 0 · 12.3 s"
    StepRun.objects.filter(pk=run.pk).update(
        status=StepRun.Status.TIMED_OUT, exit_code=None, summary="timed out after 60s", attempt=2
    )
    assert (
        run_line(client.get(url).content.decode(), run)
        == "Timed out · 12.3 s · timed out after 60s · attempt 2"
    )
