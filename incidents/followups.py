"""Reads of follow-ups: the "Follow-ups" page and API list (mine, overdue, by runbook), the
incident's panel, and the CSV export (one row per follow-up, Python's csv module)."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import IO, Any

from django.contrib.auth.models import User
from django.db.models import F, QuerySet

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS, AnyUser
from incidents.models import FollowUp, Incident


@dataclass(frozen=True)
class Filters:
    mine: bool = False
    overdue: bool = False
    runbook: str = ""


def work_items(user: AnyUser, filters: Filters, today: date) -> QuerySet[FollowUp]:
    """Follow-ups that are work (the plan's and accepted proposals), soonest due first."""
    rows = (
        FollowUp.objects.filter(proposal__in=FollowUp.WORK)
        .select_related("incident__runbook_version__runbook", "assignee")
        .order_by(F("due_on").asc(nulls_last=True), "incident_id", "position")
    )
    if filters.mine:
        rows = rows.filter(assignee_id=user.pk)
    if filters.overdue:
        rows = rows.filter(due_on__lt=today, status__in=FollowUp.OPEN_STATES)
    if filters.runbook:
        rows = rows.filter(incident__runbook_version__runbook__slug=filters.runbook)
    return rows


def overdue_count(user: AnyUser, today: date) -> int:
    """How many of this person's follow-ups are past due and not finished (the reminder)."""
    return work_items(user, Filters(mine=True, overdue=True), today).count()


def is_overdue(follow_up: FollowUp, today: date) -> bool:
    return (
        follow_up.due_on is not None
        and follow_up.due_on < today
        and follow_up.status in FollowUp.OPEN_STATES
    )


def of_incident(incident: Incident) -> list[FollowUp]:
    """The incident's follow-ups, proposals included (the panel shows each for what it is)."""
    return list(
        FollowUp.objects.filter(incident=incident)
        .exclude(proposal=FollowUp.Proposal.DISMISSED)
        .select_related("assignee")
        .order_by("position")
    )


CSV_HEADER = [
    "incident",
    "incident title",
    "runbook",
    "follow-up",
    "title",
    "owner role",
    "assignee",
    "due",
    "status",
    "overdue",
    "from",
    "link",
    "notes",
]


def _cell(value: str) -> str:
    # A spreadsheet runs a cell starting with = + - @ as a formula: keep it text.
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(rows: Iterable[FollowUp], out: IO[str], today: date) -> None:
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for f in rows:
        writer.writerow(
            _cell(str(v))
            for v in (
                f.incident_id,
                f.incident.title,
                f.incident.runbook_version.runbook.slug,
                f.key,
                f.title,
                f.owner_role,
                f.assignee.get_username() if f.assignee else "",
                f.due_on.isoformat() if f.due_on else "",
                f.get_status_display(),
                "yes" if is_overdue(f, today) else "no",
                f.origin,
                f.link,
                f.notes,
            )
        )


def assignable_users() -> list[User]:
    """People a follow-up may be given to: active members of a Ripcord group."""
    return list(
        User.objects.filter(is_active=True, groups__name__in=[COMMANDERS, RESPONDERS, VIEWERS])
        .distinct()
        .order_by("username")
    )


def panel_context(
    incident: Incident, audience: str, today: date, error: str = ""
) -> dict[str, Any]:
    """What ``incidents/_follow_ups.html`` shows on the incident page."""
    return {
        "incident": incident,
        "audience": audience,
        "rev": incident.revision,
        "follow_ups": of_incident(incident),
        "users": assignable_users() if audience == "act" else [],
        "statuses": FollowUp.Status.choices,
        "today": today,
        "follow_up_error": error,
    }
