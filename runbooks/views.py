"""Read-only runbook pages: the library, and one runbook's whole plan."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from common.capabilities import can_open_incident, can_see_runbook_details, can_use_ripcord
from runbooks.selectors import latest_version, latest_versions, versions_of


@login_required
@require_GET
def runbook_list(request: HttpRequest) -> HttpResponse:
    if not can_use_ripcord(request.user):
        raise PermissionDenied
    context = {"versions": latest_versions(), "can_import": can_open_incident(request.user)}
    return render(request, "runbooks/list.html", context)


@login_required
@require_GET
def runbook_detail(request: HttpRequest, slug: str) -> HttpResponse:
    if not can_use_ripcord(request.user):
        raise PermissionDenied
    version = latest_version(slug)
    if version is None:
        raise Http404("No such runbook")
    spec = version.parsed()
    details = can_see_runbook_details(request.user)
    context = {
        "version": version,
        "spec": spec if details else spec.without_details(),  # viewers: no variables, commands
        "details_hidden": not details,
        "versions": versions_of(slug).only("number", "loaded_at", "source_path"),
    }
    return render(request, "runbooks/detail.html", context)
