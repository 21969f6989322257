"""The proposals banner on every page commanders see (templates/triggers/_banner.html)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import SimpleLazyObject

from common.capabilities import can_open_incident
from triggers import selectors


def proposals(request: HttpRequest) -> dict[str, Any]:
    """``open_proposals`` for commanders (queried only if a template reads it)."""
    user = getattr(request, "user", None)
    nothing = {"open_proposals": (), "ripcord_commander": False}
    if user is None or not user.is_authenticated or not can_open_incident(user):
        return nothing
    try:
        urls = {
            "proposals_banner_url": reverse("triggers:banner"),
            "receivers_url": reverse("triggers:receivers"),
        }
    except NoReverseMatch:  # a URLconf without triggers (some app tests mount theirs only)
        return nothing
    return {
        "open_proposals": SimpleLazyObject(lambda: list(selectors.open_proposals())),
        "ripcord_commander": True,
        **urls,
    }
