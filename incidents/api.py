"""The JSON API (django-ninja), mounted at /api/v1/. Endpoints live in incidents/api_*.py."""

from __future__ import annotations

from ninja import NinjaAPI

api = NinjaAPI(title="Ripcord API", version="1", urls_namespace="api")
