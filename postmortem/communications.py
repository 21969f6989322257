"""The postmortem's "Communications" section: what went out (comms), and each
audience's planned cadence against the gaps between its updates."""

from __future__ import annotations

from datetime import date, datetime
from itertools import pairwise

from comms.models import Send
from incidents.models import Incident
from postmortem.mdsyntax import EMPTY, cell, clock, duration, table, text
from postmortem.types import CadenceRow, CommunicationRow, Communications, DeliveryRow
from runbooks.specs import RunbookSpec


def communications(incident: Incident, spec: RunbookSpec, now: datetime) -> Communications:
    sends = list(
        Send.objects.filter(incident=incident)
        .select_related("sent_by")
        .prefetch_related("deliveries")
        .order_by("sent_at", "pk")
    )
    end = incident.resolved_at or now
    cadence = []
    for audience, every in sorted(spec.communication_cadence.items()):
        times = [incident.opened_at, *(s.sent_at for s in sends if s.audience == audience), end]
        gaps = [(b - a).total_seconds() for a, b in pairwise(times)]
        cadence.append(
            CadenceRow(
                audience=audience,
                every_minutes=every,
                sends=len(times) - 2,
                longest_gap_seconds=max(gaps, default=0.0),
                late_gaps=sum(gap > every * 60 for gap in gaps),
            )
        )
    return Communications(
        sends=[
            CommunicationRow(
                at=s.sent_at,
                by=s.sent_by.get_username() if s.sent_by else None,
                item=s.item,
                phase=s.phase,
                audience=s.audience,
                body=s.body,
                deliveries=[
                    DeliveryRow(d.label, d.state, d.attempts, d.reason) for d in s.deliveries.all()
                ],
            )
            for s in sends
        ],
        cadence=cadence,
    )


def section(comms: Communications, day: date) -> str:
    """The section's Markdown (``day``: the incident's first day, for ``clock``)."""
    blocks = []
    if comms.cadence:
        rows = [
            [
                cell(c.audience),
                f"every {c.every_minutes} min",
                str(c.sends),
                duration(c.longest_gap_seconds),
                str(c.late_gaps),
            ]
            for c in comms.cadence
        ]
        blocks.append(
            table(["Audience", "Planned", "Updates sent", "Longest gap", "Gaps over plan"], rows)
        )
    if not comms.sends:
        blocks.append("Nothing was sent.")
        return "\n\n".join(blocks)
    rows = []
    for s in comms.sends:
        where = "; ".join(
            f"{d.destination}: {d.state}"
            + (f" after {d.attempts} attempts" if d.attempts > 1 else "")
            + (f" ({d.reason})" if d.reason and d.state == "failed" else "")
            for d in s.deliveries
        )
        rows.append(
            [
                clock(s.at, day),
                text(s.by) if s.by else "Ripcord",
                cell(s.item + (f" ({s.phase})" if s.phase else "")),
                cell(s.audience),
                cell(s.body),
                cell(where) if where else EMPTY,
            ]
        )
    blocks.append(table(["At", "By", "Item", "Audience", "Message", "Deliveries"], rows))
    return "\n\n".join(blocks)
