"""Reads for pages, fragments and the API. Each selector is a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Case, Count, Prefetch, Q, QuerySet, Value, When

from common.capabilities import COMMANDERS, RESPONDERS
from incidents.models import (
    Incident,
    IncidentRole,
    Phase,
    RoleAssignment,
    Step,
    StepRun,
    TimelineEntry,
)


@dataclass(frozen=True)
class Progress:
    settled: int
    total: int

    @property
    def percent(self) -> int:
        return round(100 * self.settled / self.total) if self.total else 100


@dataclass(frozen=True)
class PhaseView:
    phase: Phase
    steps: list[Step]

    @property
    def progress(self) -> Progress:
        return Progress(sum(1 for s in self.steps if s.is_settled), len(self.steps))


@dataclass(frozen=True)
class IncidentPage:
    incident: Incident
    phases: list[PhaseView]
    roles: list[IncidentRole]
    timeline: list[TimelineEntry]
    has_older_entries: bool

    @property
    def role_titles(self) -> dict[str, str]:
        return {role.key: role.title for role in self.roles}

    @property
    def progress(self) -> Progress:
        parts = [pv.progress for pv in self.phases]
        return Progress(sum(p.settled for p in parts), sum(p.total for p in parts))


def _steps() -> QuerySet[Step]:
    runs = StepRun.objects.select_related("requested_by", "approved_by").order_by("-attempt")
    return (
        Step.objects.select_related("state_changed_by")
        .prefetch_related(Prefetch("runs", queryset=runs))
        .order_by("position")
    )


def step_for_fragment(step_id: int) -> Step:
    return _steps().get(pk=step_id)


def phase_views(incident: Incident) -> list[PhaseView]:
    phases = Phase.objects.filter(incident=incident).prefetch_related(
        Prefetch("steps", queryset=_steps())
    )
    return [PhaseView(phase, list(phase.steps.all())) for phase in phases]


def roles_with_holders(incident: Incident) -> list[IncidentRole]:
    return list(
        IncidentRole.objects.filter(incident=incident).prefetch_related(
            Prefetch("assignments", queryset=RoleAssignment.objects.select_related("user"))
        )
    )


def timeline_for(incident: Incident, *, limit: int | None = None) -> list[TimelineEntry]:
    entries = TimelineEntry.objects.filter(incident=incident).select_related("actor", "step")
    return list(entries[:limit] if limit else entries)


def incident_page(incident: Incident) -> IncidentPage:
    """Everything the incident page shows: five queries whatever the incident's size."""
    limit = settings.RIPCORD_TIMELINE_PAGE_SIZE
    timeline = timeline_for(incident, limit=limit + 1)
    return IncidentPage(
        incident=incident,
        phases=phase_views(incident),
        roles=roles_with_holders(incident),
        timeline=timeline[:limit],
        has_older_entries=len(timeline) > limit,
    )


def steps_with_phase_progress(incident_id: int, step_ids: set[int]) -> list[tuple[Step, PhaseView]]:
    """Changed steps and the phases they sit in (for the progress bar beside them)."""
    phase_ids = Step.objects.filter(pk__in=step_ids).values("phase_id")
    phases = Phase.objects.filter(pk__in=phase_ids).prefetch_related(
        Prefetch("steps", queryset=_steps())
    )
    out = []
    for phase in phases:
        view = PhaseView(phase, list(phase.steps.all()))
        out += [(step, view) for step in view.steps if step.pk in step_ids]
    return out


def incidents_for_list() -> QuerySet[Incident]:
    """Active incidents first, newest first, with step progress counted in SQL."""
    return (
        Incident.objects.select_related("runbook_version__runbook", "opened_by")
        .annotate(
            steps_total=Count("steps"),
            steps_settled=Count("steps", filter=~Q(steps__state=Step.State.PENDING)),
        )
        .annotate(is_open=Case(When(status=Incident.Status.ACTIVE, then=Value(0)), default=Value(1)))
        .order_by("is_open", "-opened_at")
    )


def assignable_users() -> list[AbstractBaseUser]:
    """People who may be put on a role (commanders and responders), by name."""
    return list(
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name__in=[COMMANDERS, RESPONDERS]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def incident_progress(incident_id: int) -> Progress:
    counts = Step.objects.filter(incident_id=incident_id).aggregate(
        total=Count("pk"), settled=Count("pk", filter=~Q(state=Step.State.PENDING))
    )
    return Progress(counts["settled"], counts["total"])
