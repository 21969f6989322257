"""Drafts rendered from the incident's live state: phase, progress, elapsed against
budget, an ETA, what users may notice, when the next update is due.

Templates are parsed by ``runbooks.communication.parse_template`` (plain names only,
checked by ``check_runbook``) and filled here piece by piece, never with
``str.format``, so a template can never reach an attribute or pad a value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from comms.cadence import AudienceClock
from comms.models import Send
from incidents import selectors
from incidents.models import Incident, Phase, RoleAssignment
from runbooks.communication import DestinationSpec, parse_template
from runbooks.specs import INCIDENT_COMMANDER, CommunicationSpec, RunbookSpec

IMPACT_BY_SEVERITY = {"sev1": "critical", "sev2": "major", "sev3": "minor", "sev4": "minor"}


@dataclass(frozen=True)
class LiveState:
    incident: Incident
    spec: RunbookSpec
    phases: list[Phase]
    current: Phase | None
    settled: int
    total: int
    now: datetime

    @property
    def elapsed(self) -> timedelta:
        end = self.incident.resolved_at or self.now
        return max(end - self.incident.opened_at, timedelta(0))

    @property
    def budget(self) -> timedelta:
        return timedelta(minutes=max((p.ends_at_minutes for p in self.phases), default=0))


def live_state(incident: Incident, spec: RunbookSpec, now: datetime) -> LiveState:
    phases = list(Phase.objects.filter(incident=incident).order_by("position"))
    current = next((p for p in phases if p.started_at and not p.ended_at), None)
    if current is None and incident.is_active:
        current = next((p for p in phases if not p.started_at), None)
    progress = selectors.incident_progress(incident.pk)
    return LiveState(incident, spec, phases, current, progress.settled, progress.total, now)


def eta(state: LiveState) -> datetime | None:
    """The remaining phases' budgets at the pace of the phases done so far."""
    if state.incident.resolved_at:
        return state.incident.resolved_at
    done = [p for p in state.phases if p.started_at and p.ended_at]
    planned = sum((p.ends_at_minutes - p.starts_at_minutes) * 60 for p in done)
    actual = sum(
        (p.ended_at - p.started_at).total_seconds() for p in done if p.ended_at and p.started_at
    )
    pace = min(max(actual / planned, 0.25), 4.0) if planned and actual else 1.0
    remaining = 0.0
    for phase in state.phases:
        if phase.ended_at:
            continue
        budget = (phase.ends_at_minutes - phase.starts_at_minutes) * 60 * pace
        spent = (state.now - phase.started_at).total_seconds() if phase.started_at else 0.0
        remaining += max(budget - spent, 0.0)
    return state.now + timedelta(seconds=remaining)


def clock_text(moment: datetime | None) -> str:
    if moment is None:
        return "not known"
    return timezone.localtime(moment).strftime("%H:%M %Z")


def minutes(delta: timedelta) -> str:
    total = int(delta.total_seconds() // 60)
    return f"{total // 60} h {total % 60:02d} min" if total >= 60 else f"{total} min"


def public_status(state: LiveState) -> str:
    """The Statuspage-style status of an update sent now."""
    if not state.incident.is_active:
        return "resolved"
    if state.current is None or not state.current.started_at:
        return "investigating"
    if state.phases and state.current.pk == state.phases[-1].pk:
        return "monitoring"
    return "identified"


def commander_name(incident: Incident) -> str:
    holder = (
        RoleAssignment.objects.filter(incident=incident, role__key=INCIDENT_COMMANDER)
        .select_related("user")
        .first()
    )
    if holder is None:
        return "the incident commander"
    return holder.user.get_full_name() or holder.user.get_username()


@dataclass(frozen=True)
class People:
    """What every draft of one render shares (read once, not per draft)."""

    commander: str
    latest_update: str


def people(incident: Incident) -> People:
    latest = (
        Send.objects.filter(incident=incident, audience="external")
        .values_list("body", flat=True)
        .first()
    )
    return People(commander_name(incident), latest or "none yet")


def values(
    state: LiveState, next_due: datetime | None, shared: People | None = None
) -> dict[str, str]:
    incident, current = state.incident, state.current
    shared = shared or people(incident)
    impact = (current and _phase_impact(state, current.key)) or "none expected"
    percent = round(100 * state.settled / state.total) if state.total else 100
    progress = f"{state.settled} of {state.total} steps done ({percent}%)"
    position = f"phase {current.position + 1} of {len(state.phases)}" if current else "done"
    phase = current.title if current else "resolved"
    status = (
        f"resolved at {clock_text(incident.resolved_at)}"
        if not incident.is_active
        else f"{position}, {phase}; {progress}"
    )
    environment = next(
        (env.title for env in state.spec.environments if env.id == incident.environment),
        incident.environment,
    )
    expected = eta(state)
    left = f" (in {minutes(expected - state.now)})" if expected and incident.is_active else ""
    return {
        "incident": incident.title,
        "environment": environment,
        "severity": incident.get_severity_display(),
        "phase": phase,
        "status": status,
        "progress": progress,
        "elapsed": f"{minutes(state.elapsed)} of a {minutes(state.budget)} plan",
        "budget": minutes(state.budget),
        "eta": f"about {clock_text(expected)}{left}",
        "user_impact": impact,
        "impact": impact,
        "symptoms": impact,
        "details": impact,
        "next_update": clock_text(next_due) if next_due and incident.is_active else "none planned",
        "commander": shared.commander,
        "incident_url": settings.RIPCORD_PUBLIC_URL
        + reverse("incidents:detail", args=[incident.pk]),
        "time": clock_text(state.now),
        "date": timezone.localtime(state.now).strftime("%Y-%m-%d"),
        "latest_update": shared.latest_update,
    }


def _phase_impact(state: LiveState, key: str) -> str:
    return next((p.user_impact for p in state.spec.phases if p.id == key), "")


def render(template: str, filled: dict[str, str]) -> str:
    return "".join(
        literal + (filled.get(name, "") if name else "")
        for literal, name in parse_template(template)
    ).strip()


@dataclass(frozen=True)
class Draft:
    item: CommunicationSpec
    phase_key: str
    phase_title: str
    body: str
    destinations: list[DestinationSpec]
    owner_title: str

    @property
    def key(self) -> str:
        return f"{self.item.id}.{self.phase_key}" if self.phase_key else self.item.id


def environment_destinations(spec: RunbookSpec, environment: str) -> dict[str, DestinationSpec]:
    env = next((e for e in spec.environments if e.id == environment), None)
    return {d.id: d for d in env.destinations} if env else {}


def draft_phases(item: CommunicationSpec, state: LiveState) -> list[Phase]:
    """The phases ``item`` has a draft for now: its phases that have started (or the
    current one); an item naming no phase follows the current phase."""
    if not item.phases:
        return [state.current] if state.current else []
    return [
        p
        for p in state.phases
        if p.key in item.phases and (p.started_at or (state.current and p.pk == state.current.pk))
    ]


def drafts(state: LiveState, clocks: list[AudienceClock]) -> list[Draft]:
    due = {clock.audience: clock.due_at for clock in clocks}
    destinations = environment_destinations(state.spec, state.incident.environment)
    roles = {role.id: role.title for role in state.spec.roles} | {
        INCIDENT_COMMANDER: "Incident commander"
    }
    out = []
    shared = people(state.incident)
    for item in state.spec.communications:
        for phase in draft_phases(item, state):
            phase_state = LiveState(
                state.incident,
                state.spec,
                state.phases,
                phase,
                state.settled,
                state.total,
                state.now,
            )
            filled = values(phase_state, due.get(item.audience), shared)
            out.append(
                Draft(
                    item=item,
                    phase_key=phase.key if item.phases else "",
                    phase_title=phase.title,
                    body=render(item.template, filled) or item.description,
                    destinations=[destinations[k] for k in item.destinations if k in destinations],
                    owner_title=roles.get(item.owner, item.owner),
                )
            )
    return out


def status_facts(state: LiveState, destination: DestinationSpec) -> dict[str, object]:
    """What a status page shows beside the text, fixed when the update is sent."""
    status = public_status(state)
    resolved = status == "resolved"
    return {
        "status": status,
        "impact": "none" if resolved else IMPACT_BY_SEVERITY.get(state.incident.severity, "minor"),
        "components": {
            name: "operational" if resolved else value
            for name, value in destination.components.items()
        },
    }
