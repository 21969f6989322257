"""A metric check of a success criterion, measured against Prometheus (incidents.measuring)."""

from __future__ import annotations

from django.db import models

from incidents.models.closing import Criterion
from incidents.models.incident import Incident


class MetricMeasurement(models.Model):
    """One measurement of one metric check: what Prometheus said and what it means.

    ``held_since``: on a pass, when the unbroken run of passes it belongs to began (a
    fail, an inconclusive or a gap of more than 2.5 intervals breaks it); empty otherwise.
    """

    class Outcome(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"
        INCONCLUSIVE = "inconclusive", "Inconclusive"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="+")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="measurements")
    metric_key = models.CharField(max_length=63)
    measured_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    value = models.FloatField(null=True, blank=True)
    comparison = models.CharField(max_length=2)
    threshold = models.FloatField()
    samples = models.FloatField(null=True, blank=True)
    min_samples = models.PositiveIntegerField()
    window = models.CharField(max_length=32, blank=True)
    hold_minutes = models.PositiveIntegerField(default=0)
    held_since = models.DateTimeField(null=True, blank=True)
    reason = models.CharField(max_length=500)
    query = models.TextField()

    class Meta:
        ordering = ["criterion", "metric_key", "-measured_at", "-pk"]
        indexes = [
            models.Index(
                fields=["criterion", "metric_key", "-measured_at"], name="measurement_latest"
            )
        ]

    def __str__(self) -> str:
        return f"{self.metric_key}: {self.outcome}"
