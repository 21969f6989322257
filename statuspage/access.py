"""Who may publish to a status page (reading the API needs any Ripcord capability).

Commanders (and superusers) may publish any update. Whoever holds the publisher role
(the product manager) on an active incident may publish that incident's updates. The
role is read through ``incidents.access`` from the API only (pyproject's contract allows
exactly that import), so the pages, feed, JSON and services never see incident data.
"""

from __future__ import annotations

from dataclasses import dataclass

from common.capabilities import AnyUser, can_open_incident
from incidents import access as incident_access

PUBLISHER_ROLE = "product_manager"


@dataclass(frozen=True)
class PublishRight:
    allowed: bool
    source_exists: bool = True


def publish_right(user: AnyUser, source_incident_id: int | None) -> PublishRight:
    if source_incident_id is None:
        return PublishRight(can_open_incident(user))
    acc = incident_access.access_to(user, source_incident_id)
    if acc is None:
        return PublishRight(can_open_incident(user), source_exists=False)
    holds_role = acc.is_active_incident and PUBLISHER_ROLE in acc.roles
    return PublishRight(can_open_incident(user) or acc.is_commander or holds_role)


def may_publish(user: AnyUser, source_incident_id: int | None) -> bool:
    return publish_right(user, source_incident_id).allowed
