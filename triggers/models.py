"""Receivers, the alerts they accepted, and the rollbacks those alerts propose."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models import Incident
from runbooks.models import Runbook


class Receiver(models.Model):
    """One URL (``/hooks/<hook_id>/``) and one credential for one sender."""

    class Kind(models.TextChoices):
        ALERTMANAGER = "alertmanager", "Prometheus Alertmanager"
        GRAFANA = "grafana", "Grafana unified alerting"
        PAGERDUTY = "pagerduty", "PagerDuty webhooks v3"

    hook_id = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    name = models.CharField(max_length=200, blank=True)
    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="receivers")
    environment = models.CharField(max_length=63)
    # Bearer kinds: SHA-256 of the token (the token itself is shown once).
    token_sha256 = models.CharField(max_length=64, blank=True)
    # PagerDuty: the signing secret, which verifying needs, Fernet-encrypted (triggers.secrets).
    secret_encrypted = models.TextField(blank=True)
    hint = models.CharField(max_length=12, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    is_active = models.BooleanField(default=True)
    # Fixed-window rate limit: requests accepted past credentials in the current minute.
    window_start = models.DateTimeField(null=True, blank=True)
    window_count = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} receiver {self.hook_id[:8]}…"


class Proposal(models.Model):
    """A proposed rollback: this runbook, in this environment, because alerts fired."""

    class Status(models.TextChoices):
        OPEN = "open", "Proposed"
        ACCEPTED = "accepted", "Incident opened"
        DECLINED = "declined", "Declined"

    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="proposals")
    environment = models.CharField(max_length=63)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.TextField(blank=True)
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="proposals"
    )

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["runbook", "environment"],
                condition=models.Q(status="open"),
                name="one_open_proposal_per_target",
            )
        ]

    def __str__(self) -> str:
        return f"proposal {self.pk}: {self.runbook_id} in {self.environment}"


class Alert(models.Model):
    """One alert as a receiver accepted it: the evidence a proposal or incident carries.

    ``key`` is the alert's identity: a hash of its whole label set and its start time (or,
    from PagerDuty, the PagerDuty incident's id), never a sender's ``fingerprint`` alone.
    Redelivery of the same alert finds its row; nothing is created twice.
    """

    class Status(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    # None: Ripcord's own evaluator raised it (triggers.evaluation), no receiver did.
    receiver = models.ForeignKey(
        Receiver, null=True, blank=True, on_delete=models.CASCADE, related_name="alerts"
    )
    key = models.CharField(max_length=64)
    status = models.CharField(max_length=16, choices=Status.choices)
    alertname = models.CharField(max_length=200)
    labels = models.JSONField(default=dict)
    annotations = models.JSONField(default=dict)
    value = models.TextField(blank=True)
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField(null=True, blank=True)
    source_url = models.URLField(max_length=2000, blank=True)
    runbook = models.ForeignKey(Runbook, on_delete=models.PROTECT, related_name="+")
    environment = models.CharField(max_length=63)
    trigger_key = models.CharField(max_length=63, blank=True)  # the runbook trigger it matched
    received_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    proposal = models.ForeignKey(
        Proposal, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )

    class Meta:
        ordering = ["received_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["receiver", "key"], name="alert_identity"),
            models.UniqueConstraint(
                fields=["key"], condition=models.Q(receiver=None), name="evaluated_alert_identity"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.alertname} ({self.status})"


class Evaluation(models.Model):
    """One evaluation of a runbook trigger's rule against Prometheus (``triggers.evaluation``).

    ``outcome`` is what the rule says now: *fire*, *pending* (breaching, not yet for
    ``for_minutes``), *quiet*, or *inconclusive* (no data, too few samples, a query error,
    NaN/Inf, Prometheus unreachable), which never fires and never counts as quiet unless the
    rule says ``no_data: fire``. ``streak`` is how many consecutive evaluations breached.
    """

    class Outcome(models.TextChoices):
        FIRE = "fire", "Fire"
        QUIET = "quiet", "Quiet"
        INCONCLUSIVE = "inconclusive", "Inconclusive"
        PENDING = "pending", "Breaching (not yet for long enough)"

    runbook = models.ForeignKey(Runbook, on_delete=models.CASCADE, related_name="+")
    environment = models.CharField(max_length=63)
    trigger_key = models.CharField(max_length=63)
    mode = models.CharField(max_length=16)  # the rule's: propose or shadow
    evaluated_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.CharField(max_length=500)
    query = models.TextField()
    value = models.FloatField(null=True, blank=True)
    comparison = models.CharField(max_length=2)
    threshold = models.FloatField()
    samples = models.FloatField(null=True, blank=True)
    min_samples = models.PositiveIntegerField()
    window = models.CharField(max_length=32, blank=True)  # the query's range, e.g. "5m"
    streak = models.PositiveIntegerField(default=0)
    since = models.DateTimeField(null=True, blank=True)  # the streak's first breaching evaluation
    needed = models.PositiveIntegerField(default=1)  # breaching evaluations for for_minutes
    alert = models.ForeignKey(
        Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="evaluations"
    )

    class Meta:
        ordering = ["-evaluated_at", "-pk"]
        indexes = [
            models.Index(
                fields=["runbook", "environment", "trigger_key", "-evaluated_at"],
                name="evaluation_latest",
            )
        ]

    def __str__(self) -> str:
        return f"{self.trigger_key} in {self.environment}: {self.outcome}"
