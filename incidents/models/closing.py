"""How an incident closes: its success criteria and its follow-up actions."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models.incident import Incident


class Criterion(models.Model):
    """A success criterion of the runbook, as this incident tracks it.

    Met when every linked validation's latest result passes and, if the
    criterion names a sign-off role, someone holding it has signed off.
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

    class Meta:
        ordering = ["incident", "position"]
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="criterion_key")]

    def __str__(self) -> str:
        return self.title


class FollowUp(models.Model):
    """A post-rollback action of the plan, carried as a follow-up item with an owner role."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="follow_ups")
    key = models.CharField(max_length=63)
    title = models.CharField(max_length=300)
    description = models.TextField(blank=True)
    owner_role = models.CharField(max_length=63)
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["incident", "position"]
        constraints = [models.UniqueConstraint(fields=["incident", "key"], name="follow_up_key")]

    def __str__(self) -> str:
        return self.title
