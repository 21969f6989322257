"""Typing for htmx-aware requests."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    """A request behind ``login_required``: htmx details and a signed-in user."""

    htmx: HtmxDetails
    user: User
