"""The postmortem page, its Markdown download and its chart, over HTTP."""

from __future__ import annotations

import re

import pytest

from incidents import gantt
from tests.postmortem.demo import OVERRIDE_REASON
from tests.postmortem.mdparse import plain, sections

pytestmark = pytest.mark.django_db


def url(demo, tail: str = "") -> str:
    return f"/incidents/{demo.incident.pk}/postmortem{tail}"


def test_page_shows_the_document_and_the_chart_inline_to_a_viewer(client, demo, viewer):
    client.force_login(viewer)
    response = client.get(url(demo, "/"))
    assert response.status_code == 200
    html = response.content.decode()
    assert '<h2 id="phases">Phases</h2>' in html and '<h2 id="follow-up-actions">' in html
    assert html.count('<g class="phase-row"') == 4  # the SVG itself, not an <img>
    assert (
        "Drill: the checks were skipped, not run | sign-offs pending<br>Follow up in #ops" in html
    )
    assert "scripts/rollback_database.sh" not in html  # viewers get no commands
    assert f'href="/incidents/{demo.incident.pk}/postmortem.md"' in html


def test_page_shows_commands_to_the_commander(client, demo):
    client.force_login(demo.people["ic2"])
    response = client.get(url(demo, "/"))
    assert response.status_code == 200
    assert "<code>script: scripts/rollback_database.sh</code>" in response.content.decode()


def test_outsiders_get_404_everywhere(client, demo, outsider):
    client.force_login(outsider)
    for tail in ("/", ".md", "/chart.svg"):
        assert client.get(url(demo, tail)).status_code == 404


def test_markdown_downloads_as_an_attachment(client, demo, viewer):
    client.force_login(viewer)
    response = client.get(url(demo, ".md"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/markdown; charset=utf-8"
    assert response["Content-Disposition"] == (
        f'attachment; filename="postmortem-{demo.incident.pk}-mig-002-rollback-drill.md"'
    )
    document = response.content.decode()
    assert sections(document)[1][0] == "Summary"
    assert OVERRIDE_REASON in plain(document)


def test_chart_is_an_svg_with_one_row_per_phase(client, demo, viewer):
    client.force_login(viewer)
    response = client.get(url(demo, "/chart.svg"))
    assert response.status_code == 200
    assert response["Content-Type"] == "image/svg+xml"
    assert "default-src 'none'" in response["Content-Security-Policy"]
    svg = response.content.decode()
    assert svg.startswith('<svg xmlns="http://www.w3.org/2000/svg"')
    assert svg.count('<g class="phase-row"') == 4
    for key in ("service_preservation", "data_rollback", "system_restoration"):
        assert f'data-phase="{key}"' in svg
    assert 'fill="#c62828"' in svg  # phase 1 ran past its budget


def test_incident_page_links_to_the_postmortem(client, demo, viewer):
    client.force_login(viewer)
    html = client.get(f"/incidents/{demo.incident.pk}/").content.decode()
    assert f'href="{url(demo, "/")}"' in html


def test_incident_page_and_postmortem_chart_are_one_drawing(client, demo, viewer):
    """The page draws the chart as HTML bars (in percent of the track, readable on a phone),
    the postmortem as SVG: the same geometry (incidents.gantt), bar for bar."""
    client.force_login(viewer)
    page = client.get(f"/incidents/{demo.incident.pk}/").content.decode()
    on_page = page[page.index('<div class="gantt-chart"') :]
    on_page = on_page[: on_page.index("</ol>")]
    file = client.get(url(demo, "/chart.svg")).content.decode()
    assert 'class="postmortem-chart"' in file
    svg_bars = re.findall(
        r'<rect class="(planned|actual[^"]*)" x="([\d.]+)" y="[\d.]+" width="([\d.]+)"', file
    )
    html_bars = re.findall(
        r'<span class="gbar (planned|actual[^"]*)"(?: data-left="[\d.]+")? style="left: ([\d.-]+)%; width: ([\d.]+)%"',
        on_page,
    )
    assert len(svg_bars) > 6
    assert [kind for kind, _, _ in html_bars] == [kind for kind, _, _ in svg_bars]
    for (_, x, width), (_, left, span) in zip(svg_bars, html_bars, strict=True):
        assert float(left) == pytest.approx(gantt.percent(float(x)), abs=0.01)
        assert float(span) == pytest.approx(100 * float(width) / gantt.PLOT_W, abs=0.01)
    svg_labels = re.findall(r'<text class="row-label"[^>]*>([^<]*)<', file)
    html_labels = re.findall(r'<span class="gantt-label row-label">([^<]*)<', on_page)
    assert [t[:25] for t in html_labels] == [t[:25] for t in svg_labels]
