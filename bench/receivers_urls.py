"""Ripcord's URLs plus ``/bench/noop/``: a bare Django view answering 204, the floor."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from config.urls import urlpatterns as ripcord


@csrf_exempt
def noop(request: HttpRequest) -> HttpResponse:
    request.body  # noqa: B018  (read the body, as a receiver does)
    return HttpResponse(status=204)


@csrf_exempt
def noop_db(request: HttpRequest) -> HttpResponse:
    """The floor plus one query: what a request's own database connection costs here."""
    request.body  # noqa: B018
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse(status=204)


urlpatterns = [path("bench/noop/", noop), path("bench/noop-db/", noop_db), *ripcord]
