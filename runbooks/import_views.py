"""The import page (commanders): Markdown in, a previewed runbook out, downloaded or saved.

Thin: each view checks the capability, parses a form and calls the importer or
``runbooks.importing``. The page is stateless: the preview carries the source
back in a hidden field, and download and save import it again (an import is
deterministic), so nothing half-imported is ever kept on the server.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from common.capabilities import can_open_incident
from runbooks.forms import ImportedForm, ImportForm
from runbooks.import_preview import preview_context
from runbooks.importers.markdown import Imported, import_markdown
from runbooks.importers.markdown.writer import zip_folder
from runbooks.importers.problems import RunbookError
from runbooks.importing import save_imported

TEMPLATE = "runbooks/import.html"


def _commanders_only(request: HttpRequest) -> None:
    if not can_open_incident(request.user):
        raise PermissionDenied


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request: HttpRequest) -> HttpResponse:
    """GET: the form. POST: the same page with the preview, or the problems at their lines."""
    _commanders_only(request)
    if request.method == "GET":
        return render(request, TEMPLATE, {"form": ImportForm()})
    form = ImportForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, TEMPLATE, {"form": form}, status=400)
    data, name = form.source()
    runbook_id = form.cleaned_data["runbook_id"] or None
    context = preview_context(data, name, runbook_id)
    return render(
        request, TEMPLATE, {"form": form, **context}, status=200 if "imported" in context else 400
    )


def _reimport(request: HttpRequest) -> Imported | HttpResponse:
    form = ImportedForm(request.POST)
    if not form.is_valid():
        return HttpResponseBadRequest("Import the document again: the preview's data is missing.")
    try:
        return import_markdown(
            form.cleaned_data["source"].encode(),
            path=form.cleaned_data["name"],
            runbook_id=form.cleaned_data["runbook_id"] or None,
        )
    except RunbookError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")


@login_required
@require_POST
def import_download(request: HttpRequest) -> HttpResponse:
    """The runbook folder (runbook.yaml and scripts/) as a zip file."""
    _commanders_only(request)
    imported = _reimport(request)
    if isinstance(imported, HttpResponse):
        return imported
    response = HttpResponse(zip_folder(imported), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{imported.spec.id}.zip"'
    return response


@login_required
@require_POST
def import_save(request: HttpRequest) -> HttpResponse:
    """Save as a runbook (a new version if the id exists), then show it."""
    _commanders_only(request)
    imported = _reimport(request)
    if isinstance(imported, HttpResponse):
        return imported
    try:
        result = save_imported(imported)
    except RunbookError as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    messages.success(request, f"Saved {result.runbook_id} v{result.version} ({result.status}).")
    return redirect("runbooks:detail", slug=result.runbook_id)
