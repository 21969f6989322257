"""Account pages (API tokens) and the load balancer's health probe."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common import tokens
from common.forms import TokenCreateForm
from common.models import ApiToken

logger = logging.getLogger(__name__)


class AuthenticatedRequest(HttpRequest):
    user: User  # guaranteed by @login_required


@require_safe  # GET, and HEAD for probes that only read the status
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness + database reachability, for compose and load balancers. No login, no session."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError:
        logger.exception("healthz: database check failed")
        return JsonResponse({"ok": False}, status=503)
    return JsonResponse({"ok": True})


@login_required
@require_http_methods(["GET", "POST"])
@never_cache
def token_list(request: AuthenticatedRequest) -> HttpResponse:
    raw_token = None
    form = TokenCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        _, raw_token = tokens.create_token(request.user, form.cleaned_data["name"])
        form = TokenCreateForm()
    context = {
        "tokens": ApiToken.objects.filter(user=request.user),
        "form": form,
        "raw_token": raw_token,  # rendered on this response only; never stored
    }
    return render(request, "common/tokens.html", context)


@login_required
@require_POST
def token_revoke(request: AuthenticatedRequest, token_id: int) -> HttpResponse:
    try:
        tokens.revoke_token(request.user, token_id)
    except ApiToken.DoesNotExist:
        raise Http404("No such token") from None
    messages.success(request, "Token revoked.")
    return redirect("common:tokens")
