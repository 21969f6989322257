"""The receiving endpoint (/hooks/<id>/), the receivers page, and deciding on a proposal."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from common.capabilities import can_open_incident, can_use_ripcord
from common.htmx import HtmxRequest
from incidents import access
from incidents.services import ServiceError
from triggers import selectors, services
from triggers.forms import DeclineForm, ReceiverForm
from triggers.payloads import PARSERS, PayloadError


def _error(status: int, message: str, where: str = "body") -> JsonResponse:
    return JsonResponse({"error": message, "field": where}, status=status)


def too_large(limit: int) -> JsonResponse:
    return _error(413, f"body larger than {limit} bytes")


@csrf_exempt
@require_POST
def hook(request: HttpRequest, hook_id: str) -> HttpResponse:
    """Accept one notification: 2xx with what it did, or 4xx naming what is wrong.

    Order matters: size (before reading), receiver, credential (no write before it),
    rate, then parsing; only a body that parsed and routed whole writes anything.
    """
    limit = settings.RIPCORD_RECEIVER_MAX_BODY
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return _error(400, "Content-Length is not a number", "Content-Length")
    if declared > limit:
        return too_large(limit)
    receiver = selectors.receiver_by_hook(hook_id)
    if receiver is None:
        return _error(404, "no such receiver", "url")
    body = request.body
    if len(body) > limit:
        return too_large(limit)
    if not services.authenticate(
        receiver,
        request.headers.get("Authorization", ""),
        request.headers.get("X-PagerDuty-Signature", ""),
        body,
    ):
        where = "X-PagerDuty-Signature" if receiver.kind == "pagerduty" else "Authorization"
        response = _error(401, "missing or wrong credential", where)
        if receiver.kind != "pagerduty":
            response["WWW-Authenticate"] = 'Bearer realm="ripcord"'
        return response
    if not services.take_rate(receiver):
        response = _error(429, "too many requests for this receiver; retry later", "rate")
        response["Retry-After"] = str(services.retry_after_seconds())
        return response
    try:
        parsed = PARSERS[receiver.kind](body)
        outcome = services.accept(receiver, parsed)
    except PayloadError as exc:
        return JsonResponse(exc.as_json(), status=exc.status)
    return JsonResponse(outcome.as_json(), status=200)


@login_required
@require_http_methods(["GET", "POST"])
def receivers_page(request: HtmxRequest) -> HttpResponse:
    access.require(can_open_incident(request.user), "Only commanders may manage receivers.")
    form = ReceiverForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            receiver, credential = services.create_receiver(
                kind=data["kind"],
                runbook=data["runbook"],
                environment=data["environment"],
                created_by=request.user,
                secret=data["secret"] or None,
                name=data["name"],
            )
        except ServiceError as exc:
            form.add_error(None, exc.message)
        else:
            created = {
                "url": request.build_absolute_uri(f"/hooks/{receiver.hook_id}/"),
                "credential": credential,
                "kind": receiver.get_kind_display(),
            }
            form = ReceiverForm()
    return render(
        request,
        "triggers/receivers.html",
        {
            "form": form,
            "created": created,
            "receivers": selectors.receivers(),
            "proposals": selectors.proposals(),
        },
        status=201 if created else 200,
    )


@login_required
@require_GET
def banner(request: HtmxRequest) -> HttpResponse:
    """The proposals banner alone: what static/js/proposals.js puts in place when told."""
    access.require(can_open_incident(request.user), "Only commanders see proposed rollbacks.")
    return render(request, "triggers/_banner.html")


@login_required
@require_POST
def proposal_open(request: HtmxRequest, proposal_id: int) -> HttpResponse:
    access.require(can_open_incident(request.user), "Only commanders may open incidents.")
    try:
        incident = services.open_from_proposal(proposal_id=proposal_id, by=request.user)
    except ServiceError as exc:
        messages.error(request, exc.message)
        return redirect("triggers:receivers")
    messages.success(request, "Incident opened from the proposed rollback.")
    return redirect("incidents:detail", incident_id=incident.pk)


@login_required
@require_POST
def proposal_decline(request: HtmxRequest, proposal_id: int) -> HttpResponse:
    access.require(can_open_incident(request.user), "Only commanders may decline proposals.")
    form = DeclineForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Declining a proposed rollback needs a reason.")
        return redirect("triggers:receivers")
    try:
        services.decline_proposal(
            proposal_id=proposal_id, by=request.user, reason=form.cleaned_data["reason"]
        )
    except ServiceError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Proposed rollback declined.")
    return redirect("triggers:receivers")


@login_required
@require_GET
def runbook_evaluations(request: HttpRequest, slug: str) -> HttpResponse:
    """The runbook page's fragment: each rule's last evaluations (fire/pending/quiet/inconclusive)."""
    if not can_use_ripcord(request.user):
        raise PermissionDenied
    context = {"evaluations": selectors.recent_evaluations(slug)}
    return render(request, "triggers/_evaluations.html", context)
