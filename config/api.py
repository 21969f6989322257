"""The JSON API (django-ninja), mounted at /api/v1/. Endpoints live in incidents/api_*.py
and postmortem/api.py.

Every error has the body ``{"detail": ...}``: 401 unauthenticated, 403 refused by
the rules (``incidents.access``) or CSRF, 404 not visible, 409/400 refused by the
domain (``services.ServiceError``), 422 malformed input.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI

from comms import api as comms_api
from incidents.api import closing, incidents, runs
from incidents.api import follow_ups as follow_ups_api  # drills11
from incidents.api import safeguards as safeguards_api  # drills11
from incidents.services import ServiceError
from postmortem import api as postmortem_api
from runbooks import api as runbooks_api
from statuspage import api as statuspage_api
from triggers import api as triggers_api

api = NinjaAPI(title="Ripcord API", version="1", urls_namespace="api")
api.add_router("/runbooks", runbooks_api.router)
api.add_router("/incidents", incidents.router)
api.add_router("/incidents", runs.router)
api.add_router("/incidents", closing.router)
api.add_router("/incidents", postmortem_api.router)
api.add_router("/incidents", comms_api.router)
api.add_router("/status-pages", statuspage_api.router)


@api.get("/", include_in_schema=False, url_name="index")
def index(request: HttpRequest) -> dict[str, str]:
    """``GET /api/v1/``: where the API describes itself (open, like the document itself)."""
    return {
        "title": api.title,
        "version": api.version,
        "openapi": request.build_absolute_uri("openapi.json"),
        "docs": request.build_absolute_uri("docs"),
    }


api.add_router("/incidents", safeguards_api.router)  # drills11: safeguards that gate
api.add_router("/incidents", follow_ups_api.incident_router)  # drills11: follow-ups
api.add_router("/follow-ups", follow_ups_api.router)  # drills11: follow-ups
api.add_router("", triggers_api.router)


@api.exception_handler(ServiceError)
def service_error(request: HttpRequest, exc: ServiceError) -> HttpResponse:
    return api.create_response(
        request, {"detail": exc.message}, status=409 if exc.conflict else 400
    )


@api.exception_handler(PermissionDenied)
def permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc) or "Forbidden"}, status=403)


@api.exception_handler(Http404)
def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    # Our 404 messages never say more than "not there or not yours".
    return api.create_response(request, {"detail": str(exc) or "Not Found"}, status=404)
