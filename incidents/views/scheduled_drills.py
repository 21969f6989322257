"""Scheduled drills: the list (anyone in Ripcord) and the booking form (commanders)."""

from __future__ import annotations

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from common.capabilities import COMMANDERS
from common.htmx import HtmxRequest
from incidents import access
from incidents.models import ScheduledDrill
from incidents.services.errors import ServiceError
from incidents.services.scheduled_drills import schedule_drill
from runbooks.models import Runbook


class ScheduleDrillForm(forms.Form):
    runbook = forms.ModelChoiceField(
        queryset=Runbook.objects.filter(current_version__isnull=False).order_by("slug"),
        to_field_name="slug",
    )
    environment = forms.CharField(max_length=63, help_text="Its id in the runbook, e.g. staging.")
    starts_at = forms.DateTimeField(
        label="Starts at", widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    commander = forms.ModelChoiceField(
        queryset=get_user_model()
        .objects.filter(is_active=True, groups__name=COMMANDERS)
        .distinct()
        .order_by("username"),
        to_field_name="username",
        label="Incident commander",
    )
    title = forms.CharField(max_length=200, required=False)


@login_required
@require_http_methods(["GET", "POST"])
def scheduled_drills(request: HtmxRequest) -> HttpResponse:
    if not access.can_use_ripcord(request.user):
        raise PermissionDenied("Your account has no Ripcord role yet; ask a commander.")
    may_schedule = access.can_open_incident(request.user)
    form = ScheduleDrillForm(request.POST or None) if may_schedule else None
    if request.method == "POST":
        if form is None:
            raise PermissionDenied("Only commanders schedule drills.")
        if form.is_valid():
            try:
                schedule_drill(
                    runbook=form.cleaned_data["runbook"],
                    environment=form.cleaned_data["environment"],
                    starts_at=form.cleaned_data["starts_at"],
                    commander=form.cleaned_data["commander"],
                    title=form.cleaned_data["title"],
                    by=request.user,
                )
            except ServiceError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect("incidents:scheduled_drills")
    rows = ScheduledDrill.objects.select_related("runbook", "commander", "incident").order_by(
        "-starts_at"
    )[:100]
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "incidents/scheduled_drills.html",
        {"rows": rows, "form": form, "may_schedule": may_schedule},
        status=status,
    )
