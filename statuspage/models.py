"""Status pages, their components, the updates published to them, and email subscribers.

Only ``Update`` rows (and the component statuses they set) are ever shown publicly.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ComponentStatus(models.TextChoices):
    # The values of Atlassian Statuspage's API, so summary.json readers understand them.
    OPERATIONAL = "operational", "Operational"
    DEGRADED = "degraded_performance", "Degraded performance"
    PARTIAL_OUTAGE = "partial_outage", "Partial outage"
    MAJOR_OUTAGE = "major_outage", "Major outage"
    MAINTENANCE = "under_maintenance", "Under maintenance"


class UpdateStatus(models.TextChoices):
    INVESTIGATING = "investigating", "Investigating"
    IDENTIFIED = "identified", "Identified"
    MONITORING = "monitoring", "Monitoring"
    RESOLVED = "resolved", "Resolved"


class Impact(models.TextChoices):
    NONE = "none", "None"
    MINOR = "minor", "Minor"
    MAJOR = "major", "Major"
    CRITICAL = "critical", "Critical"


class StatusPage(models.Model):
    slug = models.SlugField(max_length=60, unique=True)
    name = models.CharField(max_length=120)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class Component(models.Model):
    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="components")
    name = models.CharField(max_length=80)
    position = models.PositiveIntegerField(default=0)
    status = models.CharField(
        max_length=24, choices=ComponentStatus.choices, default=ComponentStatus.OPERATIONAL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(fields=["page", "name"], name="statuspage_component_name")
        ]

    def __str__(self) -> str:
        return self.name


class Update(models.Model):
    """One published update: the only text of an incident the public ever sees."""

    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="updates")
    # By id only: the status page knows nothing of incidents; None for a standalone notice.
    source_incident_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    status = models.CharField(max_length=16, choices=UpdateStatus.choices)
    impact = models.CharField(max_length=16, choices=Impact.choices, default=Impact.NONE)
    # Every component's status once this update was applied: {name: status}.
    components = models.JSONField(default=dict)
    # What this update changed: [{"name", "old_status", "new_status"}].
    affected = models.JSONField(default=list)
    # Never shown publicly; kept for the record.
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=120, unique=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title

    @property
    def thread_key(self) -> str:
        """Updates of one source incident form one public incident; a notice stands alone."""
        if self.source_incident_id is not None:
            return f"incident-{self.source_incident_id}"
        return f"notice-{self.pk}"


class Subscriber(models.Model):
    page = models.ForeignKey(StatusPage, on_delete=models.CASCADE, related_name="subscribers")
    email = models.EmailField(max_length=254)
    # Proves the address: sent in the confirmation link, replaced once confirmed.
    token = models.CharField(max_length=64, unique=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["page", "email"], name="statuspage_subscriber_email")
        ]

    def __str__(self) -> str:
        return self.email


class Notice(models.Model):
    """An update emailed to a subscriber: a retried task never emails anyone twice."""

    update = models.ForeignKey(Update, on_delete=models.CASCADE, related_name="notices")
    subscriber = models.ForeignKey(Subscriber, on_delete=models.CASCADE, related_name="notices")
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["update", "subscriber"], name="statuspage_notice_once")
        ]

    def __str__(self) -> str:
        return f"update {self.update_id} to subscriber {self.subscriber_id}"
