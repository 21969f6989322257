"""The public pages' cache: one version key per page, bumped when something is published.

Rendered pages, feeds and JSON are cached under the page's current version, so a bump makes
every one of them stale at once, in every web process sharing the cache (Redis). The version
is also each response's ETag: a poller that already has it gets a 304.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from django.core.cache import cache

T = TypeVar("T")
RENDERED_SECONDS = 300  # a bound, in case a bump is ever lost


def _version_key(slug: str) -> str:
    return f"statuspage:{slug}:version"


def version(slug: str) -> str:
    """The page's current version; a new random one if the cache lost it (never an old one)."""
    key = _version_key(slug)
    current: str | None = cache.get(key)
    if current is None:
        cache.add(key, secrets.token_hex(8), timeout=None)
        current = cache.get(key) or "unknown"
    return current


def bump(slug: str) -> None:
    cache.set(_version_key(slug), secrets.token_hex(8), timeout=None)


def cached(slug: str, kind: str, make: Callable[[], T], *, at: str | None = None) -> T:
    """``make()``'s result for the page's version ``at`` (current if None), made once per version."""
    key = f"statuspage:{slug}:{at or version(slug)}:{kind}"
    found: T | None = cache.get(key)
    if found is None:
        found = make()
        cache.set(key, found, timeout=RENDERED_SECONDS)
    return found
