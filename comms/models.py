"""What was sent about an incident, where, and how each delivery went.

A ``Send`` is one person's (or Ripcord's, for automatic items) action: one item's
message to all of its destinations. Each destination gets a ``Delivery``, run by a
worker on the control queue with bounded retries; its idempotency key is the same on
every attempt, so a peer that already took it can tell a retry from a new message.
No address or signing key is ever stored: destinations are named by their id and
resolved on the worker (``comms.destinations``).
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models

from incidents.models import Incident


class Send(models.Model):
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="comms_sends")
    item = models.CharField(max_length=63)
    phase = models.CharField(max_length=63, blank=True)
    audience = models.CharField(max_length=16)
    title = models.CharField(max_length=300)
    body = models.TextField()
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    automatic = models.BooleanField(default=False)
    sent_at = models.DateTimeField()
    # What a status page shows beside the text (status, impact, components), fixed at send time.
    facts = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-sent_at", "-pk"]
        indexes = [models.Index(fields=["incident", "audience", "-sent_at"], name="comms_send_aud")]

    def __str__(self) -> str:
        return f"{self.item} @ {self.sent_at:%H:%M:%S}"


class Delivery(models.Model):
    class State(models.TextChoices):
        QUEUED = "queued", "queued"
        SENT = "sent", "sent"
        FAILED = "failed", "failed"

    send = models.ForeignKey(Send, on_delete=models.CASCADE, related_name="deliveries")
    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    destination = models.CharField(max_length=63)
    kind = models.CharField(max_length=16)
    label = models.CharField(max_length=200)
    state = models.CharField(max_length=8, choices=State.choices, default=State.QUEUED)
    attempts = models.PositiveIntegerField(default=0)
    reason = models.TextField(blank=True)
    idempotency_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    # Set while a worker is delivering: a second copy of the task leaves it alone.
    claimed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField()
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.label}: {self.state}"


class OverdueNotice(models.Model):
    """An audience's update came due and was not sent: recorded once per due time."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    audience = models.CharField(max_length=16)
    due_at = models.DateTimeField()
    noticed_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["incident", "audience", "due_at"], name="comms_overdue_once"
            )
        ]

    def __str__(self) -> str:
        return f"{self.audience} due {self.due_at:%H:%M}"
