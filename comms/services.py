"""Every write of communications: a send, a delivery attempt, an overdue audience,
automatic items. Each takes ``now`` where time matters (tests pass it).

A send locks the incident like every incident write (``incidents.services.locking``),
records the send and one delivery per destination, puts it on the timeline (who,
what, where, when), and hands each delivery to a worker on the control queue once
the transaction commits. A delivery's result is a timeline entry too.
"""

from __future__ import annotations

import logging
import os
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from common.text import unstorable
from comms import cadence, drafts, live, transports
from comms.models import Delivery, OverdueNotice, Send
from incidents import dispatch
from incidents.access import access_for
from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import Incident, RoleAssignment, TimelineEntry
from incidents.services.errors import ServiceError
from incidents.services.locking import lock_incident
from incidents.services.timeline import record
from runbooks.specs import CommunicationSpec, RunbookSpec

logger = logging.getLogger(__name__)

DELIVER = "comms.tasks.deliver_task"
BODY_MAX_LENGTH = 4000
CLAIM_SECONDS = 120  # a claimed delivery whose worker vanished is tried again after this


def item_of(spec: RunbookSpec, key: str) -> CommunicationSpec:
    item = next((i for i in spec.communications if i.id == key), None)
    if item is None:
        raise ServiceError(f"The runbook has no communication item {key!r}.")
    return item


def send_item(
    *,
    incident_id: int,
    user: User | None,
    item_key: str,
    phase_key: str = "",
    body: str | None = None,
    now: datetime | None = None,
) -> Send:
    """Send one item's message (``body``, or its draft) to all of its destinations.

    ``user`` None is Ripcord itself (automatic items). Refused (403) unless the user
    may send for the item's owner role (``IncidentAccess.can_send_communication``).
    """
    now = now or timezone.now()
    with transaction.atomic():
        incident = lock_incident(incident_id)
        spec = incident.runbook_version.parsed()
        item = item_of(spec, item_key)
        if user is not None:
            held = RoleAssignment.objects.filter(incident=incident, role__key=item.owner).exists()
            if not access_for(user, incident).can_send_communication(item.owner, role_is_held=held):
                raise PermissionDenied("Only the item's owner role may send it.")
        state = drafts.live_state(incident, spec, now)
        if phase_key:
            phase = next((p for p in state.phases if p.key == phase_key), None)
            if phase is None or phase.key not in item.phases:
                raise ServiceError(f"{item.id!r} has no draft for phase {phase_key!r}.")
        elif item.phases:
            raise ServiceError(f"{item.id!r} is sent per phase: name the phase.")
        if body is None:
            clocks = cadence.clocks(incident, spec, now)
            found = [
                d
                for d in drafts.drafts(state, clocks)
                if d.item.id == item.id and d.phase_key == phase_key
            ]
            body = found[0].body if found else item.description
        body = body.strip()
        if not body:
            raise ServiceError("A message needs some text.")
        if len(body) > BODY_MAX_LENGTH:
            raise ServiceError(f"A message is at most {BODY_MAX_LENGTH} characters.")
        if reason := unstorable(body):
            raise ServiceError(f"The message {reason}.")
        targets = [
            destination
            for key, destination in drafts.environment_destinations(
                spec, incident.environment
            ).items()
            if key in item.destinations
        ]
        facts = {}
        for destination in targets:
            if destination.kind == "status_page":
                facts = drafts.status_facts(state, destination)
        send = Send.objects.create(
            incident=incident,
            item=item.id,
            phase=phase_key,
            audience=item.audience,
            title=f"{incident.title}: {item.description}"[:300],
            body=body,
            sent_by=user,
            automatic=user is None,
            sent_at=now,
            facts=facts,
        )
        deliveries = [
            Delivery.objects.create(
                send=send,
                incident=incident,
                destination=d.id,
                kind=d.kind,
                label=d.label[:200],
                updated_at=now,
            )
            for d in targets
        ]
        where = ", ".join(d.label for d in deliveries) or "no destination (copy it by hand)"
        who = "Ripcord (automatic)" if user is None else user.get_username()
        change = Change(incident.pk)
        record(
            incident,
            TimelineEntry.Kind.COMMS_SENT,
            f"{who} sent {item.description!r} to {where}: {body[:300]}",
            actor=user,
            change=change,
            data={"send": send.pk, "item": item.id, "phase": phase_key, "audience": item.audience},
        )
        publish(change)
        live.push(incident.pk)
        for delivery in deliveries:
            dispatch.send_on_commit(DELIVER, delivery.pk, queue=settings.RIPCORD_CONTROL_QUEUE)
    return send


def _claim(delivery_id: int, now: datetime) -> Delivery | None:
    stale = now - timedelta(seconds=CLAIM_SECONDS)
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .filter(
                Q(claimed_at__isnull=True) | Q(claimed_at__lt=stale),
                pk=delivery_id,
                state=Delivery.State.QUEUED,
            )
            .select_related("send__incident__runbook_version")
            .first()
        )
        if delivery is None:
            return None  # delivered, failed, or a copy of this task is at it
        delivery.attempts += 1
        delivery.claimed_at = now
        delivery.save(update_fields=["attempts", "claimed_at"])
    return delivery


def retry_delay(attempts: int) -> float:
    """Seconds before attempt ``attempts + 1``: base x 2^(attempts - 1)."""
    base = int(settings.RIPCORD_COMMS_RETRY_MS) / 1000
    return float(base * 2 ** (attempts - 1))


def deliver(delivery_id: int, env: dict[str, str] | None = None) -> Delivery.State | None:
    """One attempt at one delivery (the worker's task). Schedules the next attempt,
    with exponential backoff, until ``RIPCORD_COMMS_ATTEMPTS``; then it is failed."""
    delivery = _claim(delivery_id, timezone.now())
    if delivery is None:
        return None
    send = delivery.send
    incident = send.incident
    spec = incident.runbook_version.parsed()
    destination = drafts.environment_destinations(spec, incident.environment).get(
        delivery.destination
    )
    message = transports.Message(
        incident_id=incident.pk,
        incident_title=incident.title,
        item=send.item,
        audience=send.audience,
        title=send.title,
        body=send.body,
        sent_at=send.sent_at.isoformat(),
        idempotency_key=str(delivery.idempotency_key),
        author_id=send.sent_by_id,
        facts=send.facts,
    )
    error = ""
    try:
        if destination is None:
            raise transports.DeliveryError(
                f"the runbook no longer declares {delivery.destination!r}"
            )
        transports.deliver(destination, message, dict(os.environ) if env is None else env)
    except transports.DeliveryError as exc:
        error = str(exc)
    except Exception as exc:  # a transport's bug must still end the delivery, not hang it
        logger.exception("delivery %s failed unexpectedly", delivery_id)
        error = f"internal error: {exc.__class__.__name__}"
    return _settle(delivery.pk, error)


def _settle(delivery_id: int, error: str) -> Delivery.State:
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().select_related("send").get(pk=delivery_id)
        incident = lock_incident(delivery.incident_id, require_active=False)
        change = Change(incident.pk)
        delivery.claimed_at = None
        delivery.updated_at = now
        again = bool(error) and delivery.attempts < settings.RIPCORD_COMMS_ATTEMPTS
        if not error:
            delivery.state, delivery.reason, delivery.delivered_at = Delivery.State.SENT, "", now
            text = (
                f"Delivered to {delivery.label} ({delivery.send.item}, attempt {delivery.attempts})"
            )
        elif again:
            delivery.reason = f"attempt {delivery.attempts} failed: {error}"
            text = ""
        else:
            delivery.state, delivery.reason = Delivery.State.FAILED, error
            text = (
                f"Delivery to {delivery.label} failed after {delivery.attempts} attempt(s): {error}"
            )
        delivery.save()
        if text:
            record(
                incident,
                TimelineEntry.Kind.COMMS_DELIVERY,
                text,
                actor=None,
                change=change,
                data={"send": delivery.send_id, "delivery": delivery.pk, "state": delivery.state},
            )
            publish(change)
        live.push(incident.pk, "sends")
        if again:
            dispatch.send_on_commit(
                DELIVER,
                delivery.pk,
                queue=settings.RIPCORD_CONTROL_QUEUE,
                countdown=retry_delay(delivery.attempts),
            )
    return Delivery.State(delivery.state)


def mark_overdue(now: datetime | None = None) -> int:
    """Record each audience that missed its update (once per due time): a timeline
    entry, and the banner for its owners. Returns how many were recorded."""
    now = now or timezone.now()
    recorded = 0
    for incident in Incident.objects.filter(status=Incident.Status.ACTIVE).select_related(
        "runbook_version"
    ):
        spec = incident.runbook_version.parsed()
        if not spec.communication_cadence:
            continue
        for clock in cadence.clocks(incident, spec, now):
            if (
                not clock.overdue
                or OverdueNotice.objects.filter(
                    incident=incident, audience=clock.audience, due_at=clock.due_at
                ).exists()
            ):
                continue
            with transaction.atomic():
                locked = lock_incident(incident.pk)
                _, created = OverdueNotice.objects.get_or_create(
                    incident=locked,
                    audience=clock.audience,
                    due_at=clock.due_at,
                    defaults={"noticed_at": now},
                )
                if not created:
                    continue
                change = Change(locked.pk)
                record(
                    locked,
                    TimelineEntry.Kind.COMMS_OVERDUE,
                    f"The {clock.audience} update was due at {drafts.clock_text(clock.due_at)} "
                    f"(every {clock.every_minutes} min) and has not been sent",
                    actor=None,
                    change=change,
                    data={"audience": clock.audience, "due_at": clock.due_at.isoformat()},
                )
                publish(change)
                live.push(locked.pk, "clocks")
                recorded += 1
    return recorded


def send_automatic(now: datetime | None = None) -> int:
    """Send each automatic item for each of its phases that has started, once."""
    now = now or timezone.now()
    sent = 0
    for incident in Incident.objects.filter(status=Incident.Status.ACTIVE).select_related(
        "runbook_version"
    ):
        spec = incident.runbook_version.parsed()
        automatic = [item for item in spec.communications if item.automatic]
        if not automatic:
            continue
        started = set(
            incident.phases.filter(started_at__isnull=False).values_list("key", flat=True)
        )
        done = set(
            Send.objects.filter(incident=incident, automatic=True).values_list("item", "phase")
        )
        for item in automatic:
            for phase in item.phases:
                if phase in started and (item.id, phase) not in done:
                    try:
                        send_item(
                            incident_id=incident.pk,
                            user=None,
                            item_key=item.id,
                            phase_key=phase,
                            now=now,
                        )
                        sent += 1
                    except ServiceError:
                        logger.warning(
                            "automatic item %s of incident %s not sent", item.id, incident.pk
                        )
    return sent


def cadence_tick(now: datetime | None = None) -> None:
    """What the control worker's beat runs: automatic items, then overdue audiences."""
    now = now or timezone.now()
    send_automatic(now)
    mark_overdue(now)
