"""How an incident closes: its success criteria and its follow-up actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models.incident import Incident


class Criterion(models.Model):
    """A success criterion of the runbook, as this incident tracks it.

    Met when every linked validation's latest result passes and, if the
    criterion names a sign-off role, someone holding it has signed off, and each metric
    check has held (``incidents.measuring``).
    """

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="criteria")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=300)
    position = models.PositiveIntegerField()
    validations = models.JSONField(default=list, blank=True)
    signoff_role = models.CharField(max_length=63, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(null=True, blank=True)
    # The runbook's metric checks (runbooks.metric_checks.MetricCheck, as dicts).
    metrics = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["incident", "position"]
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="criterion_key")]

    def __str__(self) -> str:
        return self.title


class FollowUp(models.Model):
    """Something to do after the rollback, with a person, a due date and a status.

    The plan's post-rollback actions become follow-ups when the incident opens
    (``origin`` "plan"); at resolve Ripcord proposes more from the record (a skipped
    or overridden step, a failed check, a phase overrun, a resolve override), which the
    IC accepts or dismisses. Only plan and accepted ones are work (``is_work``).
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        IN_PROGRESS = "in_progress", "In progress"
        DONE = "done", "Done"
        WONT_DO = "wont_do", "Won't do"

    class Proposal(models.TextChoices):
        PLAN = "plan", "From the plan"
        PROPOSED = "proposed", "Proposed"
        ACCEPTED = "accepted", "Accepted"
        DISMISSED = "dismissed", "Dismissed"

    WORK = (Proposal.PLAN, Proposal.ACCEPTED)
    OPEN_STATES = (Status.OPEN, Status.IN_PROGRESS)

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="follow_ups")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    owner_role = models.CharField(max_length=63)
    position = models.PositiveIntegerField()
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="follow_ups",
    )
    # Set at resolve from the runbook's default (``due_days`` after it) unless given.
    due_on = models.DateField(null=True, blank=True)
    due_days = models.PositiveIntegerField(default=7)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    link = models.URLField(max_length=500, blank=True)
    notes = models.TextField(blank=True)
    proposal = models.CharField(max_length=16, choices=Proposal.choices, default=Proposal.PLAN)
    origin = models.CharField(max_length=300, blank=True)  # what in the record proposed it
    updated_at = models.DateTimeField(null=True, blank=True)
    # The day the assignee was last reminded by email (services.follow_up_reminders).
    reminded_on = models.DateField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["incident", "position"]
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="follow_up_key")]
        indexes = [models.Index(fields=["assignee", "status"], name="follow_up_assignee")]

    def __str__(self) -> str:
        return self.title

    @property
    def is_work(self) -> bool:
        return self.proposal in self.WORK
