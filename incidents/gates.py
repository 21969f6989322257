"""Which safeguards hold back a step (reads only; the writes are services.safeguards).

A step names safeguards in the runbook (``safeguards:``); a run of it may start only
while each of them holds:

* a checked safeguard holds when its newest pre-flight result passed (failed or
  errored: *failed*; never checked: *unconfirmed*);
* a manual safeguard holds while a person's confirmation is still valid (none, or
  expired: *unconfirmed*).

The incident commander may start the run anyway with a reason (an override, on the
record). The worker checks the checked ones again right before the step runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from django.utils import timezone

from incidents.models import Incident, SafeguardCheck, SafeguardConfirmation, Step
from runbooks.specs import SafeguardSpec

GateState = Literal["ok", "failed", "unconfirmed"]


@dataclass(frozen=True)
class GateItem:
    safeguard_id: str
    title: str
    state: GateState
    detail: str
    is_manual: bool

    @property
    def holds(self) -> bool:
        return self.state == "ok"


def safeguard_specs(incident: Incident) -> dict[str, SafeguardSpec]:
    return {s.id: s for s in incident.runbook_version.parsed().safeguards}


def gate_items(incident: Incident, keys: list[str], now: datetime | None = None) -> list[GateItem]:
    """The state of each named safeguard for this incident, in the order given."""
    if not keys:
        return []
    now = now or timezone.now()
    specs = safeguard_specs(incident)
    checks: dict[str, SafeguardCheck] = {}
    for row in SafeguardCheck.objects.filter(incident=incident, safeguard_id__in=keys).order_by(
        "-checked_at", "-pk"
    ):
        checks.setdefault(row.safeguard_id, row)
    confirmations: dict[str, SafeguardConfirmation] = {}
    for conf in (
        SafeguardConfirmation.objects.filter(incident=incident, safeguard_id__in=keys)
        .select_related("confirmed_by")
        .order_by("-confirmed_at", "-pk")
    ):
        confirmations.setdefault(conf.safeguard_id, conf)
    items = []
    for key in keys:
        spec = specs.get(key)
        if spec is None:  # the importer refuses unknown keys; an old row is simply not held
            items.append(GateItem(key, key, "unconfirmed", "not declared", False))
        elif spec.check is not None:
            items.append(_checked(spec, checks.get(key)))
        else:
            items.append(_confirmed(spec, confirmations.get(key), now))
    return items


def _checked(spec: SafeguardSpec, row: SafeguardCheck | None) -> GateItem:
    if row is None:
        return GateItem(spec.id, spec.title, "unconfirmed", "not checked yet", False)
    when = timezone.localtime(row.checked_at).strftime("%H:%M:%S")
    if row.result == SafeguardCheck.Result.PASS:
        return GateItem(spec.id, spec.title, "ok", f"passed at {when}", False)
    return GateItem(spec.id, spec.title, "failed", f"{row.summary} ({when})", False)


def _confirmed(spec: SafeguardSpec, conf: SafeguardConfirmation | None, now: datetime) -> GateItem:
    if conf is None:
        return GateItem(spec.id, spec.title, "unconfirmed", "not confirmed", True)
    until = timezone.localtime(conf.valid_until).strftime("%Y-%m-%d %H:%M")
    who = conf.confirmed_by.get_username()
    if conf.valid_until <= now:
        return GateItem(
            spec.id, spec.title, "unconfirmed", f"{who}'s confirmation expired {until}", True
        )
    return GateItem(spec.id, spec.title, "ok", f"confirmed by {who}, valid until {until}", True)


def gate_for(step: Step, now: datetime | None = None) -> list[GateItem]:
    return gate_items(step.incident, list(step.safeguards), now)


def held(items: list[GateItem]) -> list[GateItem]:
    return [item for item in items if not item.holds]


def describe(items: list[GateItem]) -> str:
    """ "backup_verified failed (…); backup_stored_separately unconfirmed (not confirmed)"."""
    return "; ".join(f"{i.safeguard_id} {i.state} ({i.detail})" for i in items)


def latest_confirmations(incident: Incident) -> dict[str, SafeguardConfirmation]:
    """The newest confirmation of each manual safeguard (for the pre-flight panel)."""
    latest: dict[str, SafeguardConfirmation] = {}
    for conf in (
        SafeguardConfirmation.objects.filter(incident=incident)
        .select_related("confirmed_by")
        .order_by("-confirmed_at", "-pk")
    ):
        latest.setdefault(conf.safeguard_id, conf)
    return latest
