"""summary.json in the shape of Atlassian Statuspage's public ``api/v2/summary.json``.

Existing status widgets and monitors read that shape; ids are stable strings made from
our ids, times are ISO 8601, and nothing appears that the page itself does not show.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from statuspage.models import Component, Update
from statuspage.selectors import PublicIncident, PublicState


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _component(state: PublicState, component: Component) -> dict[str, Any]:
    return {
        "id": f"component-{component.pk}",
        "name": component.name,
        "status": component.status,
        "created_at": _time(component.created_at),
        "updated_at": _time(component.updated_at),
        "position": component.position,
        "description": None,
        "showcase": True,
        "start_date": None,
        "group_id": None,
        "page_id": state.page.slug,
        "group": False,
        "only_show_if_degraded": False,
    }


def _update(incident: PublicIncident, update: Update) -> dict[str, Any]:
    return {
        "id": f"update-{update.pk}",
        "status": update.status,
        "body": update.body or update.title,
        "incident_id": incident.key,
        "created_at": _time(update.created_at),
        "updated_at": _time(update.created_at),
        "display_at": _time(update.created_at),
        "affected_components": [
            {"code": change["name"], "name": change["name"], **change} for change in update.affected
        ],
        "deliver_notifications": True,
        "custom_tweet": None,
        "tweet_id": None,
    }


def _incident(state: PublicState, incident: PublicIncident, url: str) -> dict[str, Any]:
    touched = {change["name"] for u in incident.updates for change in u.affected}
    return {
        "id": incident.key,
        "name": incident.name,
        "status": incident.status,
        "created_at": _time(incident.created_at),
        "updated_at": _time(incident.updated_at),
        "monitoring_at": _time(incident.first_at("monitoring")),
        "resolved_at": _time(incident.first_at("resolved")),
        "impact": incident.impact,
        "shortlink": f"{url}#{incident.key}",
        "started_at": _time(incident.created_at),
        "page_id": state.page.slug,
        "incident_updates": [_update(incident, u) for u in incident.updates],
        "components": [_component(state, c) for c in state.components if c.name in touched],
    }


def summary(state: PublicState, url: str) -> dict[str, Any]:
    """``url``: the page's public address (the page's and each incident's link)."""
    return {
        "page": {
            "id": state.page.slug,
            "name": state.page.name,
            "url": url,
            "time_zone": "Etc/UTC",
            "updated_at": _time(state.updated_at),
        },
        "components": [_component(state, c) for c in state.components],
        "incidents": [_incident(state, i, url) for i in state.open_incidents],
        "scheduled_maintenances": [],
        "status": {"indicator": state.indicator, "description": state.description},
    }
