"""When each audience's next update is due (the runbook's ``communication_cadence``).

An audience is due ``every`` minutes after its last send, or after the incident
opened if nothing was sent yet. Every function takes ``now``: tests move time by
passing it, the beat task passes the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Max

from comms.models import Send
from incidents.models import Incident
from runbooks.specs import RunbookSpec


@dataclass(frozen=True)
class AudienceClock:
    audience: str
    every_minutes: int
    last_sent_at: datetime | None
    due_at: datetime
    overdue: bool
    owners: tuple[str, ...]  # the roles that send to this audience


def last_sent(incident_id: int) -> dict[str, datetime]:
    rows = (
        Send.objects.filter(incident_id=incident_id)
        .values("audience")
        .annotate(last=Max("sent_at"))
        .values_list("audience", "last")
    )
    return dict(rows)


def owners_of(spec: RunbookSpec, audience: str) -> tuple[str, ...]:
    return tuple(
        sorted(
            {
                item.owner
                for item in spec.communications
                if item.audience == audience and item.destinations and not item.automatic
            }
        )
    )


def clocks(
    incident: Incident, spec: RunbookSpec, now: datetime, sent: dict[str, datetime] | None = None
) -> list[AudienceClock]:
    """One clock per audience with a cadence; none once the incident is resolved."""
    if not incident.is_active:
        return []
    sent = last_sent(incident.pk) if sent is None else sent
    out = []
    for audience, every in sorted(spec.communication_cadence.items()):
        last = sent.get(audience)
        due = (last or incident.opened_at) + timedelta(minutes=every)
        out.append(AudienceClock(audience, every, last, due, now >= due, owners_of(spec, audience)))
    return out
