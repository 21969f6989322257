"""Overdue follow-ups remind their assignee by email, once per follow-up per day.

Run by beat on the control worker (``incidents.tasks.remind_follow_ups_task``). A
follow-up is claimed for today (``reminded_on``) before its email goes, so two sweeps
never both send; if the mail server refuses, the claim is given back and the next
sweep tries again. Off with ``RIPCORD_FOLLOW_UP_EMAILS``; an assignee without an
address is reminded on the Follow-ups page only.
"""

from __future__ import annotations

import logging
from datetime import date

from django.conf import settings
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from incidents.models import FollowUp

logger = logging.getLogger(__name__)


def _message(f: FollowUp, today: date) -> tuple[str, str]:
    assert f.due_on is not None
    days = (today - f.due_on).days
    page = f"{settings.RIPCORD_PUBLIC_URL}{reverse('incidents:follow_ups')}?mine=1&overdue=1"
    incident = f"{settings.RIPCORD_PUBLIC_URL}{reverse('incidents:detail', args=[f.incident_id])}"
    subject = f"Overdue follow-up: {f.title}"
    body = (
        f"{f.title}\n\n"
        f"Incident #{f.incident_id}: {f.incident.title}\n"
        f"Due {f.due_on:%Y-%m-%d} ({days} day{'s' if days != 1 else ''} ago), "
        f"status: {f.get_status_display()}.\n\n"
        f"The incident: {incident}\nYour follow-ups: {page}\n"
    )
    return subject, body


def remind_overdue(today: date | None = None) -> int:
    """Email each overdue follow-up's assignee (not yet today); how many were sent."""
    if not settings.RIPCORD_FOLLOW_UP_EMAILS:
        return 0
    today = today or timezone.localdate()
    due = (
        FollowUp.objects.filter(
            proposal__in=FollowUp.WORK,
            status__in=FollowUp.OPEN_STATES,
            due_on__lt=today,
            assignee__isnull=False,
        )
        .exclude(assignee__email="")
        .exclude(reminded_on=today)
        .select_related("assignee", "incident")
        .order_by("due_on", "pk")
    )
    sent = 0
    for f in due:
        previous = f.reminded_on
        claimed = (
            FollowUp.objects.filter(pk=f.pk).exclude(reminded_on=today).update(reminded_on=today)
        )
        if not claimed:
            continue  # another sweep has it
        assert f.assignee is not None
        subject, body = _message(f, today)
        try:
            send_mail(subject, body, None, [f.assignee.email])
        except Exception:  # a mail server down: give the day back, try on the next sweep
            logger.exception("follow-up %s: the reminder email failed", f.pk)
            FollowUp.objects.filter(pk=f.pk, reminded_on=today).update(reminded_on=previous)
            continue
        sent += 1
    return sent
