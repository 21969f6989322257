"""Follow-ups: the "Follow-ups" page (mine, overdue, by runbook), its CSV export, and the
incident panel's writes (edit, accept, dismiss)."""

from __future__ import annotations

import io

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from common.htmx import HtmxRequest
from incidents import access, followups, services
from incidents.forms import FollowUpForm
from incidents.models import FollowUp, Incident
from incidents.services import follow_ups as follow_up_services
from runbooks.selectors import latest_versions


def _filters(request: HtmxRequest) -> followups.Filters:
    return followups.Filters(
        mine=request.GET.get("mine") == "1",
        overdue=request.GET.get("overdue") == "1",
        runbook=request.GET.get("runbook", "")[:63],
    )


def _require_ripcord(request: HtmxRequest) -> None:
    if not access.can_use_ripcord(request.user):
        raise PermissionDenied("Your account has no Ripcord role yet; ask a commander.")


@login_required
@require_GET
def follow_up_list(request: HtmxRequest) -> HttpResponse:
    _require_ripcord(request)
    today = timezone.localdate()
    filters = _filters(request)
    rows = list(followups.work_items(request.user, filters, today))
    context = {
        "rows": [(f, followups.is_overdue(f, today)) for f in rows],
        "filters": filters,
        "runbooks": sorted({v.runbook.slug for v in latest_versions()}),
        "my_overdue": followups.overdue_count(request.user, today),
        "query": request.GET.urlencode(),
    }
    return render(request, "incidents/follow_ups.html", context)


@login_required
@require_GET
def follow_up_export(request: HtmxRequest) -> HttpResponse:
    """The same list as CSV: one row per follow-up, for a spreadsheet."""
    _require_ripcord(request)
    today = timezone.localdate()
    out = io.StringIO()
    followups.write_csv(followups.work_items(request.user, _filters(request), today), out, today)
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="follow-ups.csv"'
    return response


def _follow_up(
    request: HtmxRequest, incident_id: int, follow_up_id: int
) -> tuple[Incident, FollowUp, access.IncidentAccess]:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    follow_up = FollowUp.objects.filter(pk=follow_up_id, incident=incident).first()
    if follow_up is None:
        raise Http404("No such follow-up")
    return incident, follow_up, acc


def _panel(request: HtmxRequest, incident_id: int, error: str = "") -> HttpResponse:
    incident = Incident.objects.get(pk=incident_id)
    ctx = followups.panel_context(incident, "act", timezone.localdate(), error)
    return HttpResponse(render_to_string("incidents/_follow_ups.html", ctx, request=request))


@login_required
@require_POST
def follow_up_update(request: HtmxRequest, incident_id: int, follow_up_id: int) -> HttpResponse:
    incident, follow_up, acc = _follow_up(request, incident_id, follow_up_id)
    access.require(
        access.can_edit_follow_up(
            acc, assignee_id=follow_up.assignee_id, owner_role=follow_up.owner_role
        ),
        "Only the incident commander, the assignee or the owner role edits a follow-up.",
    )
    form = FollowUpForm(request.POST)
    if not form.is_valid():
        problems = "; ".join(f"{k}: {' '.join(str(e) for e in v)}" for k, v in form.errors.items())
        return _panel(request, incident.pk, f"Not saved: {problems}")
    data = form.cleaned_data
    try:
        follow_up_services.update_follow_up(
            follow_up_id=follow_up.pk,
            by=request.user,
            assignee_id=data["assignee"],
            due_on=data["due_on"],
            status=data["status"],
            link=data["link"],
            notes=data["notes"],
        )
    except services.ServiceError as exc:
        return _panel(request, incident.pk, exc.message)
    return _panel(request, incident.pk)


def _triage(
    request: HtmxRequest, incident_id: int, follow_up_id: int, *, accept: bool
) -> HttpResponse:
    incident, follow_up, acc = _follow_up(request, incident_id, follow_up_id)
    access.require(
        access.can_triage_follow_ups(acc),
        "Only the incident commander accepts or dismisses proposals.",
    )
    raw = request.POST.get("assignee", "")
    try:
        follow_up_services.triage_follow_up(
            follow_up_id=follow_up.pk,
            by=request.user,
            accept=accept,
            assignee_id=int(raw) if raw.isdigit() else None,
        )
    except services.ServiceError as exc:
        return _panel(request, incident.pk, exc.message)
    return _panel(request, incident.pk)


@login_required
@require_POST
def follow_up_accept(request: HtmxRequest, incident_id: int, follow_up_id: int) -> HttpResponse:
    return _triage(request, incident_id, follow_up_id, accept=True)


@login_required
@require_POST
def follow_up_dismiss(request: HtmxRequest, incident_id: int, follow_up_id: int) -> HttpResponse:
    return _triage(request, incident_id, follow_up_id, accept=False)
