"""Account pages (API tokens), the load balancer's health probe and the Prometheus scrape."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views import defaults
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from common import health, metrics, tokens
from common.forms import TokenCreateForm
from common.models import ApiToken


class AuthenticatedRequest(HttpRequest):
    user: User  # guaranteed by @login_required


@require_safe  # GET, and HEAD for probes that only read the status
@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    """Database, Redis and workers, each reported; 503 only when the database is down.

    No login, no session: for compose and load balancers (common.health says why only
    the database fails the probe).
    """
    status, body = health.report()
    return JsonResponse(body, status=status)


@require_safe
@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text. Counts, durations, states and queue names only: no incident content.

    Open unless RIPCORD_METRICS_TOKEN is set; then the scraper sends it as a bearer token.
    """
    token = settings.RIPCORD_METRICS_TOKEN
    if not metrics.authorized(request.headers.get("Authorization"), token):
        response = HttpResponse("a bearer token is required (RIPCORD_METRICS_TOKEN)\n", status=401)
        response["WWW-Authenticate"] = "Bearer"
        return response
    return HttpResponse(metrics.exposition(), content_type=metrics.CONTENT_TYPE)


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


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A 403 (``handler403``). To an htmx request, the refusal's own words as plain text,
    so the page shows why beside the control that was refused (static/js/controls.js);
    to anything else, Django's page."""
    if request.headers.get("HX-Request") == "true":
        message = str(exception) or "You may not do this."
        return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
    return defaults.permission_denied(request, exception)
