"""A drill booked ahead: at its time the control worker opens it and tells its people."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models.incident import Incident
from runbooks.models import Runbook


class ScheduledDrill(models.Model):
    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        OPENED = "opened", "Opened"
        FAILED = "failed", "Could not open"
        CANCELLED = "cancelled", "Cancelled"

    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=63)
    title = models.CharField(max_length=200)
    starts_at = models.DateTimeField()
    commander = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # Role key -> user id: assigned when the drill opens, and told then.
    assignments = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SCHEDULED)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    problem = models.TextField(blank=True)  # why it could not open

    class Meta:
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["status", "starts_at"], name="scheduled_drill_due")]

    def __str__(self) -> str:
        return f"{self.title} at {self.starts_at:%Y-%m-%d %H:%M}"
