"""The postmortem: as a page, as a Markdown download, and its phase chart as SVG.

Whoever may see the incident may read its postmortem (``access.get_incident_for_user``);
viewers get the version without step commands.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.text import slugify
from django.views.decorators.http import require_GET

from common.htmx import HtmxRequest
from incidents import access
from incidents.gantt import build_chart
from incidents.models import Incident, Phase
from postmortem.data import postmortem_data
from postmortem.html import markdown_to_html
from postmortem.markdown import CHART_FILE, render_markdown

SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'"


def chart_svg(incident: Incident) -> str:
    """The incident page's phase chart as a standalone SVG document (styles inline)."""
    phases = list(Phase.objects.filter(incident=incident))
    chart = build_chart(incident, phases, timezone.now())
    context = {"chart": chart, "incident": incident, "standalone": True}
    return render_to_string("incidents/_gantt_svg.html", context)


def download_name(incident: Incident) -> str:
    slug = slugify(incident.title)[:60].strip("-") or "incident"
    return f"postmortem-{incident.pk}-{slug}.md"


@login_required
@require_GET
def postmortem_page(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    document = render_markdown(postmortem_data(incident, audience=acc.audience))
    html = markdown_to_html(document, images={CHART_FILE: chart_svg(incident)})
    return render(
        request,
        "postmortem/page.html",
        {"incident": incident, "document": html, "download_name": download_name(incident)},
    )


@login_required
@require_GET
def postmortem_markdown(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    document = render_markdown(postmortem_data(incident, audience=acc.audience))
    response = HttpResponse(document, content_type="text/markdown; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{download_name(incident)}"'
    return response


@login_required
@require_GET
def postmortem_chart(request: HtmxRequest, incident_id: int) -> HttpResponse:
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    response = HttpResponse(chart_svg(incident), content_type="image/svg+xml")
    # Opened on its own, an SVG is a document: let it run nothing and fetch nothing.
    response["Content-Security-Policy"] = SVG_CSP
    return response
