from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import Incident, Step, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident

NOTE_MAX_LENGTH = 4000


def record(
    incident: Incident,
    kind: TimelineEntry.Kind,
    text: str,
    *,
    actor: User | None,
    change: Change,
    step: Step | None = None,
    data: dict[str, Any] | None = None,
) -> TimelineEntry:
    """Append one timeline entry; callers hold the incident lock."""
    entry = TimelineEntry.objects.create(
        incident=incident,
        at=timezone.now(),
        actor=actor,
        kind=kind,
        text=text,
        step=step,
        data=data or {},
    )
    change.timeline.add(entry.pk)
    return entry


def add_note(*, incident_id: int, author: User, text: str) -> TimelineEntry:
    """A person's note on the timeline."""
    text = text.strip()
    if not text:
        raise ServiceError("A note needs some text.")
    if len(text) > NOTE_MAX_LENGTH:
        raise ServiceError(f"A note is at most {NOTE_MAX_LENGTH} characters.")
    with transaction.atomic():
        incident = lock_incident(incident_id)
        change = Change(incident.pk)
        entry = record(incident, TimelineEntry.Kind.NOTE, text, actor=author, change=change)
        publish(change)
    return entry
