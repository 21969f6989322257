"""The URLconf side: what is exempt from the matrix, and walking every pattern."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.urls import URLPattern, URLResolver

from tests.permissions_matrix.rows import Actor
from tests.permissions_matrix.world import Endpoint

# URL patterns deliberately outside the matrix, by route (a trailing "/" covers what is under it).
EXEMPT: dict[str, str] = {
    "admin/": "Django admin: staff only, guarded by Django's own admin site",
    "accounts/login/": "signing in is for people who are not signed in yet",
    "accounts/logout/": "signing out needs no permission",
    "healthz": "load balancer probe: no session, answers only ok/not ok",
    "metrics": "Prometheus scrape: no session, the RIPCORD_METRICS_TOKEN bearer when set; counts "
    "only (tests/test_permissions.py, test_metrics_answer_the_metrics_token_only)",
    "api/v1/openapi.json": "the API's schema: public description, no data",
    "api/v1/docs": "the API's documentation page: public, no data",
    "hooks/": "alert receivers: no session, each receiver's own bearer token or PagerDuty "
    "signature (tests/triggers/test_bad_input.py: a wrong one is 401 and writes nothing)",
    "static/": "static files (served by WhiteNoise, normally outside the URLconf)",
}


def is_exempt(route: str) -> bool:
    return any(route == key or (key.endswith("/") and route.startswith(key)) for key in EXEMPT)


def case_id(endpoint: Endpoint, actor: Actor) -> str:
    return f"{'api' if endpoint.api else 'html'}-{endpoint.id}-{actor}"


def iter_url_patterns(
    patterns: list[URLPattern | URLResolver], prefix: str = "", namespace: str = ""
) -> Iterator[tuple[str, str | None, URLPattern]]:
    """(route, qualified name, pattern) for every leaf of the URLconf, ninja's included."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            inner = ":".join(filter(None, [namespace, pattern.namespace]))
            yield from iter_url_patterns(pattern.url_patterns, route, inner)
        else:
            name = pattern.name and (f"{namespace}:{pattern.name}" if namespace else pattern.name)
            yield route, name, pattern


_PARAM = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")


def sample_path(route: str) -> str:
    """A concrete path matching ``route`` (which object it names does not matter)."""
    return "/" + _PARAM.sub(lambda m: "x" if m["converter"] == "slug" else "1", route)
