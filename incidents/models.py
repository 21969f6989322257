"""Incidents: a runbook version being executed, with its people, steps and record.

When an incident opens, the runbook version's roles, phases and steps are copied
into rows of their own, so the page is a handful of indexed queries and the
state of each step has a home. The version itself stays untouched.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from runbooks.models import RunbookVersion


class Incident(models.Model):
    class Severity(models.TextChoices):
        SEV1 = "sev1", "SEV1 — critical"
        SEV2 = "sev2", "SEV2 — major"
        SEV3 = "sev3", "SEV3 — minor"
        SEV4 = "sev4", "SEV4 — low"

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        RESOLVED = "resolved", "Resolved"

    title = models.CharField(max_length=200)
    runbook_version = models.ForeignKey(
        RunbookVersion, on_delete=models.PROTECT, related_name="incidents"
    )
    environment = models.CharField(max_length=63)
    severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.SEV2)
    is_drill = models.BooleanField(default=False)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    # Bumped by every write under a row lock: serialises writers of one incident
    # and stamps each pushed fragment so browsers never apply an older one.
    revision = models.PositiveBigIntegerField(default=0)

    class Meta:
        ordering = ["-opened_at"]
        indexes = [models.Index(fields=["status", "-opened_at"], name="incident_status_opened")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.title}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class IncidentRole(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="roles")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=200)
    responsibility = models.TextField(blank=True)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="incident_role_key"),
        ]

    def __str__(self) -> str:
        return self.title


class RoleAssignment(models.Model):
    role = models.ForeignKey(IncidentRole, on_delete=models.CASCADE, related_name="assignments")
    # Denormalised from role for the access check's single query.
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="assignments")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="role_assignments"
    )
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    assigned_at = models.DateTimeField()

    class Meta:
        ordering = ["role__position", "assigned_at"]
        constraints = [
            models.UniqueConstraint(fields=["role", "user"], name="role_assignment_unique"),
        ]
        indexes = [models.Index(fields=["incident", "user"], name="assignment_incident_user")]


class Phase(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="phases")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField()
    starts_at_minutes = models.PositiveIntegerField()
    ends_at_minutes = models.PositiveIntegerField()
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["incident", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="phase_key"),
        ]

    def __str__(self) -> str:
        return self.title


class Step(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        DONE = "done", "Done"
        SKIPPED = "skipped", "Skipped"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="steps")
    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="steps")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField()
    owner_role = models.CharField(max_length=63)
    kind = models.CharField(max_length=16)
    command = models.JSONField(default=dict, blank=True)
    requires = models.JSONField(default=list, blank=True)
    approval_role = models.CharField(max_length=63, blank=True)
    is_idempotent = models.BooleanField(default=False)
    is_optional = models.BooleanField(default=False)
    timeout_seconds = models.PositiveIntegerField(default=900)
    queue = models.CharField(max_length=63, blank=True)

    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    state_changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    state_changed_at = models.DateTimeField(null=True, blank=True)
    skip_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["incident", "phase__position", "position"]
        constraints = [
            models.UniqueConstraint(fields=["incident", "key"], name="step_key"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_manual(self) -> bool:
        return self.kind == "manual"

    @property
    def is_settled(self) -> bool:
        return self.state != self.State.PENDING


class TimelineEntry(models.Model):
    class Kind(models.TextChoices):
        OPENED = "opened", "Incident opened"
        ROLE_ASSIGNED = "role_assigned", "Role assigned"
        ROLE_UNASSIGNED = "role_unassigned", "Role unassigned"
        STEP_DONE = "step_done", "Step done"
        STEP_SKIPPED = "step_skipped", "Step skipped"
        STEP_REOPENED = "step_reopened", "Step reopened"
        NOTE = "note", "Note"
        STATUS = "status", "Status change"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="timeline")
    at = models.DateTimeField()
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    text = models.TextField()
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-at", "-pk"]
        indexes = [models.Index(fields=["incident", "-at"], name="timeline_incident_at")]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.text}"
