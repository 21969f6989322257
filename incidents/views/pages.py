"""Pages (GET) of the incident UI."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from common.htmx import HtmxRequest
from incidents import access, panels, selectors, services
from incidents.forms import IncidentFilterForm, OpenIncidentForm, environment_choices
from incidents.models import TimelineEntry
from incidents.services.opening import open_incident_once
from runbooks.selectors import latest_versions

SAME_OPENING_WINDOW = timedelta(minutes=10)


@login_required
@require_GET
def incident_list(request: HtmxRequest) -> HttpResponse:
    if not access.can_use_ripcord(request.user):
        raise PermissionDenied("Your account has no Ripcord role yet; ask a commander.")
    form = IncidentFilterForm(request.GET)
    filters = form.filters()
    rows = selectors.incident_list_rows(**filters, now=timezone.now())
    return render(
        request,
        "incidents/list.html",
        {
            "rows": rows,
            "form": form,
            "filtered": any(v for k, v in filters.items() if k != "sort"),
            "can_open": access.can_open_incident(request.user),
            "now": timezone.now(),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def open_incident(request: HtmxRequest) -> HttpResponse:
    access.require(access.can_open_incident(request.user), "Only commanders may open incidents.")
    form = OpenIncidentForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Back, then send again, re-fetches the form (a new token): the same opening
        # by the same person a few minutes ago is that, not a second incident.
        same = selectors.recent_same_opening(
            request.user,
            version_id=data["version"].pk,
            environment=data["environment"],
            title=data["title"],
            since=timezone.now() - SAME_OPENING_WINDOW,
        )
        if same is not None:
            messages.info(
                request,
                "You opened this incident already (same runbook, environment and title): "
                "nothing new was opened. To open another, give it another title.",
            )
            return redirect("incidents:detail", incident_id=same.pk)
        try:
            incident, opened = open_incident_once(
                version=data["version"],
                environment=data["environment"],
                title=data["title"],
                severity=data["severity"],
                is_drill=data["is_drill"],
                opened_by=request.user,
                open_key=data["open_key"],
                confirm_environment=data["confirm_environment"],
                parameters=data.get("parameters", {}),
            )
        except services.ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            if opened:
                messages.success(request, "Incident opened. Assign people to the roles.")
            else:
                messages.info(
                    request, "This form opened this incident already: nothing new was opened."
                )
            return redirect("incidents:detail", incident_id=incident.pk)
    return render(request, "incidents/open.html", {"form": form})


@login_required
@require_GET
def environments(request: HtmxRequest) -> HttpResponse:
    """The environment <select> for the runbook chosen in the open form."""
    access.require(access.can_open_incident(request.user))
    versions = {str(v.pk): v for v in latest_versions()}
    version = versions.get(request.GET.get("version", ""))
    choices = environment_choices(version) if version else []
    # The runbook's parameter fields follow the runbook too (an out-of-band swap).
    form = OpenIncidentForm(initial={"version": version.pk}) if version else None
    return render(
        request,
        "incidents/_environment_select.html",
        {"choices": choices, "parameter_form": form, "oob": True},
    )


@login_required
@require_GET
def incident_detail(request: HtmxRequest, incident_id: int) -> HttpResponse:
    return _with_panels(request, incident_id, "incidents/detail.html")


@login_required
@require_GET
def incident_live(request: HtmxRequest, incident_id: int) -> HttpResponse:
    """The live panels again: what a page fetches whenever its socket (re)connects."""
    return _with_panels(request, incident_id, "incidents/live.html")


def _with_panels(request: HtmxRequest, incident_id: int, template: str) -> HttpResponse:
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    return render(request, template, panels.page_context(incident, acc, timezone.now()))


@login_required
@require_GET
def my_controls(request: HtmxRequest, incident_id: int) -> HttpResponse:
    """Which controls this user sees, as a style block (fragments are shared per audience)."""
    _, acc = access.get_incident_for_user(request.user, incident_id)
    return render(request, "incidents/_me_style.html", {"access": acc})


@login_required
@require_GET
def incident_timeline(request: HtmxRequest, incident_id: int) -> HttpResponse:
    """The timeline, newest first, a page at a time (``?before=<entry id>`` for older ones)."""
    incident, _ = access.get_incident_for_user(request.user, incident_id)
    limit = settings.RIPCORD_TIMELINE_PAGE_SIZE
    before = request.GET.get("before", "")
    try:
        entries = selectors.timeline_before(
            incident, limit=limit + 1, before_id=int(before) if before.isdigit() else None
        )
    except TimelineEntry.DoesNotExist:
        raise Http404("No such timeline entry") from None
    context = {"incident": incident, "entries": entries[:limit], "older": len(entries) > limit}
    return render(request, "incidents/timeline.html", context)


@login_required
@require_GET
def phase_steps(request: HtmxRequest, incident_id: int, phase_id: int) -> HttpResponse:
    """The steps of a phase the page shows compact, fetched when it is expanded; without
    htmx (no JavaScript: the fold's link), the phase's own page."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    phase = selectors.phase_of(incident, phase_id)
    if phase is None:
        raise Http404("No such phase in this incident")
    steps = selectors.steps_of_phase(incident, phase_id)
    context = (
        panels.fragment_context(incident, acc.audience, timezone.now())
        | panels.stored_titles_context(incident.pk, steps)
        | panels.phase_steps_context(steps)
    )
    if request.htmx and not request.htmx.boosted:
        return render(request, "incidents/_phase_steps.html", context)
    progress = selectors.Progress(sum(s.is_settled for s in steps), len(steps))
    pv = selectors.PagePhase(phase, steps, progress)
    return render(request, "incidents/phase.html", context | panels.phase_context(pv))
