"""What a status page shows, read once: components, open incidents, recent history.

Only ``Update`` rows and component statuses are read: nothing here can show what was not
published. Updates of one source incident form one public incident (newest update first).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from statuspage.models import Component, ComponentStatus, Impact, StatusPage, Update, UpdateStatus

HISTORY_DAYS = 14
HISTORY_LIMIT = 20
FEED_LIMIT = 50
STALE_OPEN_DAYS = 90  # how far back an unresolved, quiet incident is still looked for

_RANK = {"none": 0, "minor": 1, "major": 2, "critical": 3}
_COMPONENT_INDICATOR = {
    ComponentStatus.OPERATIONAL: "none",
    ComponentStatus.DEGRADED: "minor",
    ComponentStatus.PARTIAL_OUTAGE: "major",
    ComponentStatus.MAJOR_OUTAGE: "critical",
}
DESCRIPTIONS = {
    "none": "All Systems Operational",
    "minor": "Partially Degraded Service",
    "major": "Partial System Outage",
    "critical": "Major System Outage",
    "maintenance": "Service Under Maintenance",
}


@dataclass(frozen=True)
class PublicIncident:
    key: str
    name: str
    status: str
    impact: str
    created_at: datetime
    updated_at: datetime
    updates: list[Update]  # newest first

    @property
    def resolved(self) -> bool:
        return self.status == UpdateStatus.RESOLVED

    def first_at(self, status: str) -> datetime | None:
        times = [u.created_at for u in self.updates if u.status == status]
        return min(times) if times else None

    @property
    def status_label(self) -> str:
        return UpdateStatus(self.status).label

    @property
    def impact_label(self) -> str:
        return Impact(self.impact).label


@dataclass(frozen=True)
class PublicState:
    page: StatusPage
    components: list[Component]
    open_incidents: list[PublicIncident]
    history: list[PublicIncident]
    indicator: str  # none / minor / major / critical / maintenance
    updated_at: datetime

    @property
    def description(self) -> str:
        return DESCRIPTIONS[self.indicator]


_SLUG = re.compile(r"[-a-zA-Z0-9_]+")


def get_page(slug: str) -> StatusPage:
    """The page, or a 404 (for a slug that could not be one, too, without asking the database)."""
    page = StatusPage.objects.filter(slug=slug).first() if _SLUG.fullmatch(slug) else None
    if page is None:
        raise Http404("No such status page.")
    return page


def _threads(updates: list[Update]) -> list[PublicIncident]:
    grouped: dict[str, list[Update]] = {}
    for update in updates:  # newest first
        grouped.setdefault(update.thread_key, []).append(update)
    threads = []
    for key, items in grouped.items():
        latest = items[0]
        threads.append(
            PublicIncident(
                key=key,
                name=latest.title,
                status=latest.status,
                impact=latest.impact,
                created_at=items[-1].created_at,
                updated_at=latest.created_at,
                updates=items,
            )
        )
    return threads


def _indicator(components: list[Component], open_incidents: list[PublicIncident]) -> str:
    ranks = [_RANK[_COMPONENT_INDICATOR.get(ComponentStatus(c.status), "none")] for c in components]
    ranks += [_RANK[i.impact] for i in open_incidents]
    worst = max(ranks, default=0)
    if worst == 0 and any(c.status == ComponentStatus.MAINTENANCE for c in components):
        return "maintenance"
    return next(name for name, rank in _RANK.items() if rank == worst)


def _still_open_before(page: StatusPage, since: datetime, seen: set[str]) -> list[PublicIncident]:
    """Incidents whose latest update is older than ``since`` and not "resolved" (a quiet one)."""
    older = page.updates.filter(created_at__lt=since, source_incident_id__isnull=False)
    older = older.filter(created_at__gte=since - timedelta(days=STALE_OPEN_DAYS))
    threads = _threads(list(older.order_by("-created_at", "-pk")[:500]))
    return [t for t in threads if t.key not in seen and not t.resolved]


def public_state(page: StatusPage) -> PublicState:
    """The page as the public sees it: open incidents, and history of the last two weeks."""
    components = list(page.components.all())
    since = timezone.now() - timedelta(days=HISTORY_DAYS)
    recent = list(page.updates.filter(created_at__gte=since).order_by("-created_at", "-pk")[:500])
    threads = _threads(recent)
    open_incidents = [t for t in threads if not t.resolved]
    open_incidents += _still_open_before(page, since, {t.key for t in threads})
    history = [t for t in threads if t.resolved][:HISTORY_LIMIT]
    times = [page.created_at, *(c.updated_at for c in components)]
    times += [u.created_at for u in recent[:1]]
    return PublicState(
        page=page,
        components=components,
        open_incidents=open_incidents,
        history=history,
        indicator=_indicator(components, open_incidents),
        updated_at=max(times),
    )


def feed_updates(page: StatusPage, *, with_author: bool = False) -> list[Update]:
    updates = page.updates.order_by("-created_at", "-pk")
    if with_author:  # the API's record; never the public's
        updates = updates.select_related("author")
    return list(updates[:FEED_LIMIT])


def public_path(slug: str) -> str:
    return reverse("statuspage:page", kwargs={"slug": slug})
