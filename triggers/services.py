"""Every write of the triggers app: receivers, accepted alerts, proposals and their decisions."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from common.capabilities import can_open_incident
from incidents.broadcast import publish
from incidents.events import Change
from incidents.models import Incident, TimelineEntry
from incidents.services import ServiceError, open_incident
from incidents.services.locking import lock_incident
from incidents.services.timeline import record
from runbooks.models import Runbook
from triggers import evidence, live, secrets
from triggers.models import Alert, Proposal, Receiver
from triggers.payloads import Parsed, ParsedAlert
from triggers.routing import Router, Target

DECLINE_REASON_MAX = 2000

# --- receivers ---------------------------------------------------------------------------


def create_receiver(
    *,
    kind: str,
    runbook: Runbook,
    environment: str,
    created_by: User,
    secret: str | None = None,
    name: str = "",
) -> tuple[Receiver, str]:
    """A new receiver and its credential (a bearer token, or PagerDuty's signing secret).

    The credential is returned once: only its hash (token) or its encryption (secret) is kept.
    """
    if not can_open_incident(created_by):
        raise ServiceError("Only commanders may create receivers.")
    if kind not in Receiver.Kind.values:
        raise ServiceError(f"Unknown receiver kind {kind!r}.")
    version = runbook.current_version
    if version is None or environment not in {e.id for e in version.parsed().environments}:
        raise ServiceError(f"Runbook {runbook.slug} has no environment {environment!r}.")
    receiver = Receiver(
        hook_id=secrets.new_hook_id(),
        kind=kind,
        name=name.strip()[:200],
        runbook=runbook,
        environment=environment,
        created_by=created_by,
        created_at=timezone.now(),
    )
    if kind == Receiver.Kind.PAGERDUTY:
        credential = secret or secrets.new_token()
        if len(credential) < 16 or len(credential) > 500:
            raise ServiceError("A signing secret is 16 to 500 characters.")
        receiver.secret_encrypted = secrets.encrypt(credential)
    else:
        if secret is not None:
            raise ServiceError("--secret is for PagerDuty receivers; bearer tokens are generated.")
        credential = secrets.new_token()
        receiver.token_sha256 = secrets.hash_token(credential)
    receiver.hint = credential[:8]
    receiver.save()
    return receiver, credential


def rotate_secrets() -> tuple[int, list[int]]:
    """Re-encrypt every signing secret under the current key: (how many, ids no key opens)."""
    rotated, unreadable = 0, []
    with transaction.atomic():
        for receiver in Receiver.objects.select_for_update().exclude(secret_encrypted=""):
            if secrets.decrypt(receiver.secret_encrypted) is None:
                unreadable.append(receiver.pk)
                continue
            receiver.secret_encrypted = secrets.rotate(receiver.secret_encrypted)
            receiver.save(update_fields=["secret_encrypted"])
            rotated += 1
    return rotated, unreadable


def authenticate(receiver: Receiver, authorization: str, signature: str, body: bytes) -> bool:
    """Does the request carry this receiver's credential? Reads, never writes."""
    if not receiver.is_active:
        return False
    if receiver.kind == Receiver.Kind.PAGERDUTY:
        secret = secrets.decrypt(receiver.secret_encrypted)
        if not secret or not signature:
            return False
        return secrets.pagerduty_signature_ok(secret, body, signature[:2000])
    scheme, _, raw = authorization.partition(" ")
    if scheme.lower() != "bearer" or not raw or len(raw) > 200:
        return False
    return secrets.token_matches(raw.strip(), receiver.token_sha256)


def take_rate(receiver: Receiver) -> bool:
    """Count one request in the receiver's current minute; False once over the limit.

    One conditional UPDATE: a new minute starts the count at 1, and a full minute
    matches no row.
    """
    limit = settings.RIPCORD_RECEIVER_RATE_PER_MINUTE
    window = timezone.now().replace(second=0, microsecond=0)
    return bool(
        Receiver.objects.filter(pk=receiver.pk)
        .exclude(window_start=window, window_count__gte=limit)
        .update(
            window_count=Case(
                When(window_start=window, then=F("window_count") + 1), default=Value(1)
            ),
            window_start=window,
        )
    )


def retry_after_seconds() -> int:
    now = timezone.now()
    return max(
        1, int((now.replace(second=0, microsecond=0) + timedelta(minutes=1) - now).total_seconds())
    )


# --- accepting alerts ---------------------------------------------------------------------


@dataclass
class Outcome:
    fired: int = 0
    resolved: int = 0
    unchanged: int = 0
    proposals: set[int] = field(default_factory=set)
    incidents: set[int] = field(default_factory=set)
    ping: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "fired": self.fired,
            "resolved": self.resolved,
            "unchanged": self.unchanged,
            "proposals": sorted(self.proposals),
            "incidents": sorted(self.incidents),
            **({"ping": True} if self.ping else {}),
        }


def accept(receiver: Receiver, parsed: Parsed) -> Outcome:
    """Record a notification's alerts: fire, resolve, or nothing for what was seen before.

    Every alert's target is resolved first (a bad label is a ``PayloadError`` before any
    write); then one transaction, holding the target runbooks' rows, writes the lot.
    Redelivering a body finds every alert by its identity and changes nothing.
    """
    outcome = Outcome(ping=parsed.ping)
    router = Router(receiver)
    routed = [
        (alert, router.target(alert, f"alerts[{i}]")) for i, alert in enumerate(parsed.alerts)
    ]
    if not routed:
        return outcome
    if _all_seen(receiver, routed, outcome):
        return outcome  # a redelivery: nothing to write, no lock taken
    new_proposals: list[int] = []  # created, or given new evidence: announced after commit
    places = _Places()
    with transaction.atomic():
        for pk in sorted({target.runbook.pk for _, target in routed}):
            Runbook.objects.select_for_update().filter(pk=pk).first()
        known = {
            alert.key: alert
            for alert in Alert.objects.select_for_update().filter(
                receiver=receiver, key__in=[a.key for a, _ in routed]
            )
        }
        for alert, target in routed:
            row = known.get(alert.key)
            if alert.status == "firing":
                if row is not None:
                    outcome.unchanged += 1
                    continue
                known[alert.key] = _fire(receiver, alert, target, outcome, new_proposals, places)
            elif row is not None and row.status == Alert.Status.RESOLVED:
                outcome.unchanged += 1
            else:
                known[alert.key] = _resolve(receiver, alert, target, row, outcome, places)
    for proposal_id in new_proposals:
        live.announce_proposal(proposal_id)
    return outcome


def raise_evaluated(
    *, runbook: Runbook, environment: str, trigger_key: str, alert: ParsedAlert
) -> Alert:
    """A rule Ripcord evaluated fires: the same path as a received alert, without a receiver.

    It joins the running incident, else the open proposal, else proposes the rollback. The
    alert's key names the breach (its rule, target and start), so each later evaluation of
    the same breach finds it and changes nothing.
    """
    target = Target(runbook=runbook, environment=environment, trigger_key=trigger_key)
    outcome, new_proposals = Outcome(), list[int]()
    with transaction.atomic():
        Runbook.objects.select_for_update().filter(pk=runbook.pk).first()
        row = Alert.objects.filter(receiver=None, key=alert.key).first()
        if row is None:
            row = _fire(None, alert, target, outcome, new_proposals, _Places())
    for proposal_id in new_proposals:
        live.announce_proposal(proposal_id)
    return row


def resolve_evaluated(*, runbook: Runbook, environment: str, trigger_key: str, at: datetime) -> int:
    """A rule Ripcord evaluated is quiet again: its firing alerts are recorded resolved."""
    target = Target(runbook=runbook, environment=environment, trigger_key=trigger_key)
    resolved = 0
    with transaction.atomic():
        rows = Alert.objects.select_for_update().filter(
            receiver=None,
            runbook=runbook,
            environment=environment,
            trigger_key=trigger_key,
            status=Alert.Status.FIRING,
        )
        for row in rows:
            ended = replace(_as_parsed(row), status="resolved", ends_at=at)
            _resolve(None, ended, target, row, Outcome(), _Places())
            resolved += 1
    return resolved


def _as_parsed(row: Alert) -> ParsedAlert:
    return ParsedAlert(
        status="firing",
        alertname=row.alertname,
        labels=row.labels,
        starts_at=row.starts_at,
        key=row.key,
        annotations=row.annotations,
        source_url=row.source_url,
        value=row.value,
    )


def _all_seen(
    receiver: Receiver, routed: list[tuple[ParsedAlert, Target]], outcome: Outcome
) -> bool:
    """Whether every alert is already recorded as it is now (then ``outcome`` says so)."""
    seen = dict(
        Alert.objects.filter(receiver=receiver, key__in=[a.key for a, _ in routed]).values_list(
            "key", "status"
        )
    )
    if all(
        a.key in seen and (a.status == "firing" or seen[a.key] == Alert.Status.RESOLVED)
        for a, _ in routed
    ):
        outcome.unchanged = len(routed)
        return True
    return False


def _active_incident(target: Target) -> Incident | None:
    return (
        Incident.objects.filter(
            status=Incident.Status.ACTIVE,
            environment=target.environment,
            runbook_version__runbook=target.runbook,
        )
        .order_by("-opened_at")
        .first()
    )


def _open_proposal(target: Target) -> Proposal | None:
    return Proposal.objects.filter(
        runbook=target.runbook, environment=target.environment, status=Proposal.Status.OPEN
    ).first()


def _new_row(receiver: Receiver | None, alert: ParsedAlert, target: Target) -> Alert:
    now = timezone.now()
    return Alert(
        receiver=receiver,
        key=alert.key,
        status=alert.status,
        alertname=alert.alertname,
        labels=alert.labels,
        annotations=alert.annotations,
        value=alert.value,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        source_url=alert.source_url,
        runbook=target.runbook,
        environment=target.environment,
        trigger_key=target.trigger_key,
        received_at=now,
        resolved_at=now if alert.status == "resolved" else None,
    )


class _Places:
    """Where a target's alerts go, looked up once per notification (under the runbook's lock)."""

    def __init__(self) -> None:
        self._incidents: dict[tuple[int, str], Incident | None] = {}
        self._proposals: dict[tuple[int, str], Proposal | None] = {}

    def incident(self, target: Target) -> Incident | None:
        key = (target.runbook.pk, target.environment)
        if key not in self._incidents:
            self._incidents[key] = _active_incident(target)
        return self._incidents[key]

    def proposal(self, target: Target) -> Proposal | None:
        key = (target.runbook.pk, target.environment)
        if key not in self._proposals:
            self._proposals[key] = _open_proposal(target)
        return self._proposals[key]

    def made(self, target: Target, proposal: Proposal) -> None:
        self._proposals[(target.runbook.pk, target.environment)] = proposal


def _fire(
    receiver: Receiver | None,
    alert: ParsedAlert,
    target: Target,
    outcome: Outcome,
    new_proposals: list[int],
    places: _Places,
) -> Alert:
    row = _new_row(receiver, alert, target)
    outcome.fired += 1
    incident = places.incident(target)
    if incident is not None:
        row.incident = incident
        row.save()
        outcome.incidents.add(incident.pk)
        _on_timeline(incident.pk, [row])
        return row
    proposal = places.proposal(target)
    if proposal is None:
        proposal = Proposal.objects.create(
            runbook=target.runbook, environment=target.environment, created_at=timezone.now()
        )
        places.made(target, proposal)
        new_proposals.append(proposal.pk)
    elif proposal.pk not in new_proposals:
        new_proposals.append(proposal.pk)  # more evidence: the banner shows it too
    row.proposal = proposal
    row.save()
    outcome.proposals.add(proposal.pk)
    return row


def _resolve(
    receiver: Receiver | None,
    alert: ParsedAlert,
    target: Target,
    row: Alert | None,
    outcome: Outcome,
    places: _Places,
) -> Alert:
    """Mark a firing alert resolved, or record a resolution whose firing never reached us."""
    outcome.resolved += 1
    now = timezone.now()
    if row is None:
        row = _new_row(receiver, alert, target)
        if (incident := places.incident(target)) is not None:
            row.incident = incident
        elif (proposal := places.proposal(target)) is not None:
            row.proposal = proposal
        row.save()
    else:
        row.status = Alert.Status.RESOLVED
        row.resolved_at = now
        row.ends_at = alert.ends_at or now
        row.save(update_fields=["status", "resolved_at", "ends_at"])
    if row.proposal_id is not None:
        outcome.proposals.add(row.proposal_id)
    if row.incident_id is not None:
        outcome.incidents.add(row.incident_id)
        if Incident.objects.filter(pk=row.incident_id, status=Incident.Status.ACTIVE).exists():
            _on_timeline(row.incident_id, [row])
    return row


def _on_timeline(incident_id: int, rows: list[Alert]) -> None:
    """One timeline entry per alert ("Trigger fired" / "Trigger resolved") with its evidence."""
    incident = lock_incident(incident_id)
    change = Change(incident.pk)
    for row in rows:
        kind = (
            TimelineEntry.Kind.TRIGGER_FIRED
            if row.status == Alert.Status.FIRING
            else TimelineEntry.Kind.TRIGGER_RESOLVED
        )
        record(
            incident, kind, evidence.sentence(row), actor=None, change=change, data=evidence.of(row)
        )
    publish(change)


# --- deciding on a proposal -----------------------------------------------------------------


def _lock_open_proposal(proposal_id: int) -> Proposal:
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("runbook__current_version")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise ServiceError("No such proposal.")
    if proposal.status != Proposal.Status.OPEN:
        raise ServiceError("This proposal has already been decided.", conflict=True)
    return proposal


def open_from_proposal(*, proposal_id: int, by: User) -> Incident:
    """The IC's one click: open the runbook's incident in the proposal's environment.

    The incident records every alert of the proposal on its timeline, with its evidence.
    If an incident of that runbook already runs there, the proposal joins it instead.
    """
    if not can_open_incident(by):
        raise ServiceError("Only commanders may open incidents.")
    with transaction.atomic():
        proposal = _lock_open_proposal(proposal_id)
        version = proposal.runbook.current_version
        if version is None:
            raise ServiceError(f"Runbook {proposal.runbook.slug} has no loaded version.")
        rows = list(proposal.alerts.order_by("received_at", "pk"))
        target = Target(proposal.runbook, proposal.environment, "")
        incident = _active_incident(target)
        if incident is None:
            names = sorted({row.alertname for row in rows}) or ["alert"]
            title = f"Rollback proposed by {', '.join(names)}"[:200]
            incident = open_incident(
                version=version,
                environment=proposal.environment,
                title=title,
                severity=Incident.Severity.SEV2,
                is_drill=False,
                opened_by=by,
                # The environment comes from the alert's evidence, shown in the banner, not
                # from a pick in a list: the typed confirmation guards against a slip of the
                # mouse, which a proposal cannot be (README, "Alerts → proposals").
                confirm_environment=proposal.environment,
            )
        Alert.objects.filter(pk__in=[row.pk for row in rows]).update(incident=incident)
        if rows:
            _on_timeline(incident.pk, rows)
        proposal.status = Proposal.Status.ACCEPTED
        proposal.decided_by = by
        proposal.decided_at = timezone.now()
        proposal.incident = incident
        proposal.save(update_fields=["status", "decided_by", "decided_at", "incident"])
    live.announce_proposal(proposal.pk)
    return incident


def decline_proposal(*, proposal_id: int, by: User, reason: str) -> Proposal:
    if not can_open_incident(by):
        raise ServiceError("Only commanders may decline a proposed rollback.")
    reason = reason.strip()
    if not reason:
        raise ServiceError("Declining a proposed rollback needs a reason.")
    if len(reason) > DECLINE_REASON_MAX:
        raise ServiceError(f"A reason is at most {DECLINE_REASON_MAX} characters.")
    with transaction.atomic():
        proposal = _lock_open_proposal(proposal_id)
        proposal.status = Proposal.Status.DECLINED
        proposal.decided_by = by
        proposal.decided_at = timezone.now()
        proposal.decline_reason = reason
        proposal.save(update_fields=["status", "decided_by", "decided_at", "decline_reason"])
    live.announce_proposal(proposal.pk)
    return proposal
