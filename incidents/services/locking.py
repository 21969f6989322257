"""The per-incident write lock and revision stamp."""

from __future__ import annotations

from django.db.models import F

from incidents.models import Incident
from incidents.services.errors import ServiceError


def lock_incident(incident_id: int, *, require_active: bool = True) -> Incident:
    """Lock the incident row for this transaction and bump its revision.

    Concurrent writers of one incident queue here, so "two people tick the same
    step" becomes "the second sees the first's result". The revision stamps the
    fragments rendered after commit; browsers ignore fragments older than what
    they show.
    """
    Incident.objects.filter(pk=incident_id).update(revision=F("revision") + 1)
    incident = Incident.objects.select_for_update().get(pk=incident_id)
    if require_active and not incident.is_active:
        raise ServiceError("This incident is resolved; it can no longer change.", conflict=True)
    return incident
