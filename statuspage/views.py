"""The public status page: no login, no session, cached, working without JavaScript.

Page, feed and summary.json are rendered once per page version (``statuspage.cache``) and
carry it as their ETag, so a poller that has the current one gets a 304. The subscription
views answer the same whether an address was known or not.

CSRF: the public forms carry no token, as the cached page is the same for everybody. None
acts on a session: subscribing only sends a confirmation email (double opt-in), and
confirming and unsubscribing are authorised by the unguessable token or the signature in
their URL (one-click unsubscribe, RFC 8058, is a cross-site POST by design).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.cache import get_conditional_response
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from statuspage import cache, links, selectors, services
from statuspage.feeds import UpdatesFeed
from statuspage.models import Subscriber
from statuspage.summary import summary

_TOKEN = re.compile(r"[-_A-Za-z0-9]{1,64}")


def _versioned(
    request: HttpRequest,
    slug: str,
    kind: str,
    make: Callable[[str], tuple[bytes | str, str]],
) -> HttpResponseBase:
    """A 304 if the caller has the page's current version, else the body made for it (cached).

    The version is read once and is the ETag: one cache read answers a poller that is current.
    """
    version = cache.version(slug)
    etag = f'"{version}"'
    response: HttpResponseBase | None = get_conditional_response(request, etag=etag)
    if response is None:
        content, content_type = cache.cached(slug, kind, lambda: make(version), at=version)
        response = HttpResponse(content, content_type)
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=0, must-revalidate"
    return response


@xframe_options_exempt  # public, and meant to be embedded (README, "Status page")
@require_GET
def status_page(request: HttpRequest, slug: str) -> HttpResponseBase:
    def render_page(version: str) -> tuple[str, str]:
        state = selectors.public_state(selectors.get_page(slug))
        context = {
            "page": state.page,
            "state": state,
            "version": version,
            "poll_ms": settings.RIPCORD_STATUS_POLL_MS,
        }
        return render_to_string("statuspage/page.html", context), "text/html; charset=utf-8"

    return _versioned(request, slug, "html", render_page)


@require_GET
def summary_json(request: HttpRequest, slug: str) -> HttpResponseBase:
    def render_json(version: str) -> tuple[str, str]:
        state = selectors.public_state(selectors.get_page(slug))
        return json.dumps(summary(state, links.page_url(slug))), "application/json"

    response = _versioned(request, slug, "summary", render_json)
    # Any site may read it (status widgets embedded elsewhere): it holds only public text.
    response["Access-Control-Allow-Origin"] = "*"
    response["Access-Control-Expose-Headers"] = "ETag"
    return response


_feed = UpdatesFeed()


@require_GET
def feed(request: HttpRequest, slug: str) -> HttpResponseBase:
    def render_feed(version: str) -> tuple[bytes, str]:
        response = _feed(request, slug=slug)
        return response.content, response["Content-Type"]

    # Links in the feed are made from the request's host (one of ALLOWED_HOSTS).
    return _versioned(request, slug, f"atom:{request.get_host()}", render_feed)


@csrf_exempt
@require_http_methods(["POST"])
def subscribe(request: HttpRequest, slug: str) -> HttpResponse:
    page = selectors.get_page(slug)
    try:
        services.subscribe(page_slug=slug, email=request.POST.get("email", ""))
    except services.SubscribeRefused as refused:
        return render(
            request, "statuspage/message.html", {"page": page, "error": refused.message}, status=400
        )
    return render(request, "statuspage/message.html", {"page": page, "subscribed": True})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, slug: str, token: str) -> HttpResponse:
    """GET asks (mail scanners follow links), POST confirms."""
    page = selectors.get_page(slug)
    # A token is URL-safe base64: anything else (a NUL, a surrogate) is no token, never a query.
    known = _TOKEN.fullmatch(token) is not None and (
        Subscriber.objects.filter(page=page, token=token).exists()
    )
    if request.method == "POST" and known:
        services.confirm(page_slug=slug, token=token)
        return render(request, "statuspage/message.html", {"page": page, "confirmed": True})
    if not known:
        context = {"page": page, "error": "This confirmation link was used already, or is wrong."}
        return render(request, "statuspage/message.html", context, status=404)
    action = reverse("statuspage:confirm", kwargs={"slug": slug, "token": token})
    return render(request, "statuspage/ask.html", {"page": page, "action": action, "confirm": True})


@csrf_exempt
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, slug: str, signature: str) -> HttpResponse:
    """GET asks; POST (our button, or a mail client's one-click) unsubscribes."""
    page = selectors.get_page(slug)
    signed = links.subscriber_for_signature(signature)
    if signed is None:
        context = {"page": page, "error": "This unsubscribe link is not valid."}
        return render(request, "statuspage/message.html", context, status=404)
    subscriber_id, email = signed
    if request.method == "POST":
        services.unsubscribe(subscriber_id=subscriber_id, page_slug=slug, email=email)
        return render(request, "statuspage/message.html", {"page": page, "unsubscribed": True})
    action = reverse("statuspage:unsubscribe", kwargs={"slug": slug, "signature": signature})
    return render(request, "statuspage/ask.html", {"page": page, "action": action, "email": email})
