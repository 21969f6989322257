"""Reads for pages, fragments and the API. Each selector is a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, User
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS, AnyUser, can_use_ripcord
from common.compiled import Compiled
from incidents.models import (
    Incident,
    IncidentRole,
    Phase,
    RoleAssignment,
    SafeguardCheck,
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


# How many steps the page renders in full beyond the running phase: later phases are
# shown in full while they fit, so a small runbook reads as one plan, and a large one
# costs its running phase, not its size (tests/incidents/test_page_size.py).
FULL_STEPS = 40


@dataclass(frozen=True)
class PagePhase:
    """A phase as the incident page shows it.

    Only the running phase (and the phases after it while ``FULL_STEPS`` allows, and any
    phase with a run under way) shows its steps in full. The others are compact: their
    head, counts and owners, and a control that fetches their steps on demand
    (``steps_of_phase``), so the page's cost follows the running phase, not the
    runbook's size. A compact phase's steps are not loaded (``steps`` is empty).
    """

    phase: Phase
    steps: list[Step]
    progress: Progress
    compact: bool = False
    owner_roles: tuple[str, ...] = ()


@dataclass(frozen=True)
class IncidentPage:
    incident: Incident
    phases: list[PagePhase]
    roles: list[IncidentRole]
    timeline: list[TimelineEntry]
    has_older_entries: bool
    step_titles: dict[str, str]
    step_owners: frozenset[str]

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


_ROLES = Compiled[IncidentRole](
    lambda incident_id: IncidentRole.objects.filter(incident_id=incident_id).prefetch_related(
        Prefetch("assignments", queryset=RoleAssignment.objects.select_related("user"))
    )
)


def roles_with_holders(incident: Incident) -> list[IncidentRole]:
    return _ROLES(incident.pk)


def timeline_for(incident: Incident, *, limit: int | None = None) -> list[TimelineEntry]:
    # What an entry shows: no join to its step, no ``data`` (a page shows 200 entries).
    entries = TimelineEntry.objects.filter(incident=incident).select_related("actor").defer("data")
    return list(entries[:limit] if limit else entries)


def timeline_before(
    incident: Incident, *, limit: int, before_id: int | None = None
) -> list[TimelineEntry]:
    """Up to ``limit`` entries, newest first, older than entry ``before_id`` (API paging).

    Ordered like the model (time, then id), and the cursor compares both, so
    entries sharing a timestamp are neither skipped nor repeated. Raises
    ``TimelineEntry.DoesNotExist`` if ``before_id`` is not an entry of this incident.
    """
    entries = TimelineEntry.objects.filter(incident=incident).select_related("actor")
    if before_id is not None:
        at = entries.values_list("at", flat=True).get(pk=before_id)
        entries = entries.filter(Q(at__lt=at) | Q(at=at, pk__lt=before_id))
    return list(entries.order_by("-at", "-pk")[:limit])


def phase_of(incident: Incident, phase_id: int) -> Phase | None:
    return Phase.objects.filter(incident=incident, pk=phase_id).first()


def steps_of_phase(incident: Incident, phase_id: int) -> list[Step]:
    """A phase's steps with their runs (what a compact phase shows when expanded)."""
    return list(_steps().filter(incident=incident, phase_id=phase_id))


@dataclass(frozen=True)
class _StepRow:
    phase_id: int
    key: str
    title: str
    owner_role: str
    is_settled: bool
    has_active_run: bool


def _step_rows(incident: Incident) -> list[_StepRow]:
    """Every step of the incident as a few columns (one query): counts, titles, owners."""
    active = StepRun.objects.filter(step=OuterRef("pk"), status__in=StepRun.ACTIVE)
    rows = (
        Step.objects.filter(incident=incident)
        .annotate(has_active_run=Exists(active))
        .order_by("phase__position", "position")
        .values_list("phase_id", "key", "title", "owner_role", "state", "has_active_run")
    )
    pending = Step.State.PENDING
    return [
        _StepRow(phase_id, key, title, owner, state != pending, active)
        for phase_id, key, title, owner, state, active in rows
    ]


def _full_phases(phases: list[Phase], totals: dict[int, int], busy: set[int]) -> set[int]:
    """The phases shown with their steps: the running one (or the first not started if
    none runs), the next ones while ``FULL_STEPS`` allows, and any with a run under way."""
    full = set(busy)
    shown = 0
    for phase in phases:
        if phase.ended_at is not None:
            continue
        size = totals.get(phase.pk, 0)
        if shown and shown + size > FULL_STEPS:
            break
        full.add(phase.pk)
        shown += size
    return full


def page_phases(incident: Incident, rows: list[_StepRow] | None = None) -> list[PagePhase]:
    """Every phase with its counts and owners, and the steps of those shown in full:
    three queries (phases, the steps' columns, the shown steps and their runs)."""
    phases = list(Phase.objects.filter(incident=incident))
    rows = _step_rows(incident) if rows is None else rows
    totals: dict[int, int] = {}
    settled: dict[int, int] = {}
    owners: dict[int, dict[str, None]] = {}
    busy: set[int] = set()
    for row in rows:
        totals[row.phase_id] = totals.get(row.phase_id, 0) + 1
        settled[row.phase_id] = settled.get(row.phase_id, 0) + row.is_settled
        owners.setdefault(row.phase_id, {})[row.owner_role] = None
        if row.has_active_run:
            busy.add(row.phase_id)
    full = _full_phases(phases, totals, busy)
    shown: dict[int, list[Step]] = {}
    # Always one query (``phase_id__in=[]`` would skip it): same count at every size.
    for step in _steps().filter(incident=incident, phase__pk__in=full or [0]):
        shown.setdefault(step.phase_id, []).append(step)
    return [
        PagePhase(
            phase,
            shown.get(phase.pk, []),
            Progress(settled.get(phase.pk, 0), totals.get(phase.pk, 0)),
            compact=phase.pk not in full,
            owner_roles=tuple(owners.get(phase.pk, ())),
        )
        for phase in phases
    ]


def incident_page(incident: Incident) -> IncidentPage:
    """Everything the incident page shows: a fixed number of queries whatever its size.

    The page's cost follows what it renders: the newest timeline entries (the rest
    are paged on the timeline page) and the steps of the phases shown in full; of the
    other steps only a few columns are read (counts, "after ...", "My steps").
    """
    limit = settings.RIPCORD_TIMELINE_PAGE_SIZE
    timeline = timeline_for(incident, limit=limit + 1)
    rows = _step_rows(incident)
    return IncidentPage(
        incident=incident,
        phases=page_phases(incident, rows),
        roles=roles_with_holders(incident),
        timeline=timeline[:limit],
        has_older_entries=len(timeline) > limit,
        step_titles={row.key: row.title for row in rows},
        step_owners=frozenset(row.owner_role for row in rows),
    )


@dataclass(frozen=True)
class PhaseProgress:
    """A phase and its step counts, without its steps (what the pushed progress bar shows)."""

    phase: Phase
    progress: Progress


@dataclass(frozen=True)
class ChangedSteps:
    """Changed steps with their phases' progress, and the whole incident's progress."""

    steps: list[tuple[Step, PhaseProgress]]
    progress: Progress


_CHANGED_STEPS = Compiled[Step](
    lambda incident_id, step_ids: (
        _steps()
        .select_related("phase")
        .filter(incident_id=incident_id, pk__in=step_ids)
        .order_by("phase__position", "position")
    )
)
_COUNTS = Compiled[tuple[int, int, int]](
    lambda incident_id: (
        Step.objects.filter(incident_id=incident_id)
        .order_by()
        .values("phase_id")
        .annotate(total=Count("pk"), settled=Count("pk", filter=~Q(state=Step.State.PENDING)))
        .values_list("phase_id", "total", "settled")
    )
)


def changed_steps(incident_id: int, step_ids: set[int]) -> ChangedSteps:
    """Changed steps, the progress of the phases they sit in, and the incident's.

    Three queries whose cost does not grow with the phase: the changed steps (and
    their runs), and one count per phase in SQL, whose sum is the header's progress
    (one query fewer than counting the incident apart). Loading every step of the
    phase to count it took ~75 ms per push at 300 steps (bench/README.md).
    """
    steps = _CHANGED_STEPS(incident_id, sorted(step_ids))
    progress = {
        phase_id: Progress(settled, total) for phase_id, total, settled in _COUNTS(incident_id)
    }
    overall = Progress(
        sum(p.settled for p in progress.values()), sum(p.total for p in progress.values())
    )
    return ChangedSteps(
        [(step, PhaseProgress(step.phase, progress[step.phase_id])) for step in steps], overall
    )


def incidents_for_list() -> QuerySet[Incident]:
    """Active incidents first, newest first, with step progress counted in SQL."""
    return (
        Incident.objects.select_related("runbook_version__runbook", "opened_by")
        .annotate(
            steps_total=Count("steps"),
            steps_settled=Count("steps", filter=~Q(steps__state=Step.State.PENDING)),
        )
        .annotate(
            is_open=Case(When(status=Incident.Status.ACTIVE, then=Value(0)), default=Value(1))
        )
        .order_by("is_open", "-opened_at")
    )


def recent_same_opening(
    user: AnyUser, *, version_id: int, environment: str, title: str, since: datetime
) -> Incident | None:
    """An active incident this person opened since ``since`` from the same runbook version,
    environment and title: what a form sent again (back, then send) would duplicate."""
    return (
        Incident.objects.filter(
            opened_by_id=user.pk,
            runbook_version_id=version_id,
            environment=environment,
            title=title.strip(),
            status=Incident.Status.ACTIVE,
            opened_at__gte=since,
        )
        .order_by("-opened_at")
        .first()
    )


@dataclass(frozen=True)
class ListRow:
    """One incident on the list page: its counts, its running phase and how late that is."""

    incident: Incident
    phase_title: str  # the running phase ("" when none runs)
    phase_number: int
    phase_count: int
    late_by: timedelta | None  # past the running phase's budget by this much (None: not late)
    last_activity: datetime

    @property
    def is_late(self) -> bool:
        return self.late_by is not None


SEVERITY_ORDER = {value: i for i, value in enumerate(Incident.Severity.values)}
LIST_SORTS = ("severity", "activity", "opened")


def incident_list_rows(
    *,
    query: str = "",
    status: str = "",
    severity: str = "",
    environment: str = "",
    sort: str = "severity",
    now: datetime,
) -> list[ListRow]:
    """The list page: filtered, then sorted (active first in every order).

    ``severity``: most severe first, then the most recent activity; ``activity``: the
    most recent timeline entry first; ``opened``: newest first. ``query`` matches the
    title (any case) or the number ("#12" or "12"). A fixed number of queries: the
    running phase and the last activity are subqueries, not a query per row.
    """
    running = Phase.objects.filter(
        incident=OuterRef("pk"), started_at__isnull=False, ended_at__isnull=True
    ).order_by("position")
    last_entry = TimelineEntry.objects.filter(incident=OuterRef("pk")).order_by("-at")
    incidents = incidents_for_list().annotate(
        phase_title=Subquery(running.values("title")[:1]),
        phase_position=Subquery(running.values("position")[:1]),
        phase_planned_end=Subquery(running.values("planned_end_at")[:1]),
        phase_count=Subquery(
            Phase.objects.filter(incident=OuterRef("pk"))
            .order_by()
            .values("incident")
            .annotate(n=Count("pk"))
            .values("n")[:1]
        ),
        last_activity=Coalesce(Subquery(last_entry.values("at")[:1]), F("opened_at")),
    )
    if query := query.strip():
        number = query.removeprefix("#")
        match = Q(title__icontains=query)
        if number.isdigit():
            match |= Q(pk=int(number))
        incidents = incidents.filter(match)
    if status in Incident.Status.values:
        incidents = incidents.filter(status=status)
    if severity in Incident.Severity.values:
        incidents = incidents.filter(severity=severity)
    if environment:
        incidents = incidents.filter(environment=environment)
    rows = [
        ListRow(
            incident=incident,
            phase_title=incident.phase_title or "",
            phase_number=(incident.phase_position or 0) + 1 if incident.phase_title else 0,
            phase_count=incident.phase_count or 0,
            late_by=(
                now - incident.phase_planned_end
                if incident.phase_planned_end is not None and now > incident.phase_planned_end
                else None
            ),
            last_activity=incident.last_activity,
        )
        for incident in incidents
    ]
    if sort == "activity":
        rows.sort(key=lambda r: r.last_activity, reverse=True)
    elif sort == "opened":
        rows.sort(key=lambda r: r.incident.opened_at, reverse=True)
    else:
        rows.sort(key=lambda r: r.last_activity, reverse=True)
        rows.sort(key=lambda r: SEVERITY_ORDER.get(r.incident.severity, 99))
    rows.sort(key=lambda r: not r.incident.is_active)  # stable: keeps the order within
    return rows


def incidents_visible_to(user: AnyUser) -> QuerySet[Incident]:
    """``incidents_for_list`` narrowed to what ``IncidentAccess.can_view`` lets the user see.

    Anyone with a Ripcord capability sees every incident; someone without one
    sees only incidents where they hold a role.
    """
    incidents = incidents_for_list()
    if can_use_ripcord(user):
        return incidents
    if not user.is_authenticated:
        return incidents.none()
    # A subquery, not a join: joining assignments would multiply the step counts.
    held = RoleAssignment.objects.filter(user_id=user.pk).values("incident_id")
    return incidents.filter(pk__in=held)


def assignable_users() -> list[AbstractBaseUser]:
    """People who may be put on some role (commanders, responders, viewers), by name.

    Each comes with its groups already read (``common.capabilities.user_groups``'
    cache), so asking ``access.can_be_assigned`` of every person for every role
    costs no further query.
    """
    users: list[AbstractBaseUser] = list(
        User.objects.filter(is_active=True)
        .filter(Q(groups__name__in=[COMMANDERS, RESPONDERS, VIEWERS]) | Q(is_superuser=True))
        .distinct()
        .prefetch_related("groups")
        .order_by("username")
    )
    for user in users:
        groups = user.groups.all()  # type: ignore[attr-defined]  # prefetched
        user._ripcord_groups = frozenset(g.name for g in groups)  # type: ignore[attr-defined]
    return users


def _other_commanders(user_id: int | None) -> QuerySet[User]:
    people = User.objects.filter(is_active=True)
    if user_id is not None:
        people = people.exclude(pk=user_id)
    return (
        people.filter(Q(groups__name=COMMANDERS) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


def other_commanders(user_id: int | None) -> list[str]:
    """The active commanders (superusers too) other than this person, by name: who could
    approve a run gated on the incident commander that this person asked for."""
    return list(_other_commanders(user_id).values_list("username", flat=True))


def other_commanders_ids(user_id: int | None) -> list[int]:
    return list(_other_commanders(user_id).values_list("pk", flat=True))


def step_owner_roles(incident_id: int) -> set[str]:
    """The roles that own at least one step of the incident."""
    return set(
        Step.objects.filter(incident_id=incident_id)
        .values_list("owner_role", flat=True)
        .distinct()
        .order_by()
    )


def incident_progress(incident_id: int) -> Progress:
    counts = Step.objects.filter(incident_id=incident_id).aggregate(
        total=Count("pk"), settled=Count("pk", filter=~Q(state=Step.State.PENDING))
    )
    return Progress(counts["settled"], counts["total"])


def role_titles(incident_id: int) -> dict[str, str]:
    """Role key → title, to name a step's owner and gate in fragments."""
    return dict(IncidentRole.objects.filter(incident_id=incident_id).values_list("key", "title"))


def step_titles(incident_id: int, keys: set[str] | None = None) -> dict[str, str]:
    """Step key → title, to name required steps in fragments; only ``keys`` if given
    (no query when that is empty: most steps require none)."""
    if keys is not None and not keys:
        return {}
    steps = Step.objects.filter(incident_id=incident_id)
    if keys is not None:
        steps = steps.filter(key__in=keys)
    return dict(steps.values_list("key", "title"))


def safeguards_panel(incident: Incident) -> list[tuple[str, list[tuple[object, object]]]]:
    """The runbook's safeguards by category, each with its latest check (or None): two queries."""
    latest: dict[str, SafeguardCheck] = {}
    for check in SafeguardCheck.objects.filter(incident=incident).order_by("-checked_at", "-pk"):
        latest.setdefault(check.safeguard_id, check)
    grouped: dict[str, list[tuple[object, object]]] = {}
    for safeguard in incident.runbook_version.parsed().safeguards:
        grouped.setdefault(safeguard.category, []).append((safeguard, latest.get(safeguard.id)))
    return list(grouped.items())
