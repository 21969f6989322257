"""Refuse form fields and query parameters holding text PostgreSQL cannot store.

One check for every page (sign-in, tokens, the admin, the incident pages): a
NUL in a field answers 400 naming the field before any view runs, so no view
can half-write it or turn it into a 500. Browsers encode what people type, so
only a script or a paste sends one. The JSON API is left to judge its own
inputs: its schemas answer the 422 its OpenAPI document promises
(``common.api.InputSchema``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, QueryDict

from common.text import unstorable

NINJA_APP = "ninja"  # the application namespace every NinjaAPI's URLs are included under


class RefuseUnstorableText:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        match = request.resolver_match
        if match is not None and NINJA_APP in match.app_names:
            return None
        for where, values in (("query parameter", request.GET), ("field", request.POST)):
            if refusal := _refusal(where, values):
                return HttpResponseBadRequest(refusal, content_type="text/plain; charset=utf-8")
        return None


def _refusal(where: str, values: QueryDict) -> str | None:
    for name, items in values.lists():
        for text in (name, *items):
            if problem := unstorable(text):
                return f"Refused: the {where} {name!r} {problem}.\n"
    return None
