"""Notes render as safe Markdown: line breaks kept, links clickable, raw HTML shown as text."""

from __future__ import annotations

import pytest
from django.urls import reverse

from common.notes_markdown import render_note
from incidents.models import TimelineEntry


def test_line_breaks_are_kept():
    assert render_note("first\nsecond") == "<p>first<br />\nsecond</p>\n"


def test_raw_html_is_shown_as_text():
    html = render_note('<script>alert(1)</script>\n<img src=x onerror="alert(2)">')
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in html


def test_bare_addresses_become_links_that_open_apart():
    html = render_note("dashboard: https://grafana.example.com/d/abc?from=now-1h")
    assert (
        '<a href="https://grafana.example.com/d/abc?from=now-1h" '
        'rel="noopener noreferrer nofollow" target="_blank">'
    ) in html


@pytest.mark.parametrize(
    "text",
    ["[x](javascript:alert(1))", "[x](data:text/html,<b>hi</b>)", "[x](vbscript:msgbox(1))"],
)
def test_dangerous_link_targets_are_not_links(text):
    assert "<a " not in render_note(text)


def test_images_and_headings_stay_text():
    html = render_note("![tracker](https://evil.example/pixel.png)\n\n# 123 is the ticket")
    assert "<img" not in html and "<h1" not in html
    assert "# 123 is the ticket" in html


@pytest.mark.django_db
def test_an_empty_note_is_refused_at_the_form_and_nothing_is_added(client, incident, backend):
    client.force_login(backend)
    before = TimelineEntry.objects.filter(incident=incident).count()

    answer = client.post(reverse("incidents:note_add", args=[incident.pk]), {"text": "  \n "})

    html = answer.content.decode()
    assert answer.status_code == 200
    assert 'id="note-form-' in html and "an empty note is not added" in html
    assert 'aria-invalid="true"' in html
    assert TimelineEntry.objects.filter(incident=incident).count() == before


@pytest.mark.django_db
def test_a_note_on_the_timeline_is_markdown(client, incident, backend):
    client.force_login(backend)
    client.post(reverse("incidents:note_add", args=[incident.pk]), {"text": "**db** ok\n<b>no</b>"})
    page = client.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    assert "<strong>db</strong> ok<br />" in page
    assert "&lt;b&gt;no&lt;/b&gt;" in page
