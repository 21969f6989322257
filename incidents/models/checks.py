"""What the incident's checks found: pre-flight safeguards, the target's snapshot, validation results.

Results are only ever inserted, one row per check per run, so the incident keeps
the whole story (failed after the restore, passed after the fix); "the latest
result" of a check is its newest row. Snapshot and CheckResult were the validation
app's models; they kept their tables (``validation_snapshot``, ``validation_checkresult``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from incidents.models.incident import Incident, StepRun


class SafeguardCheck(models.Model):
    """One pre-flight check of a runbook safeguard, as run for this incident (kept as a record)."""

    class Result(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"
        ERROR = "error", "Error"

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="safeguard_checks"
    )
    safeguard_id = models.CharField(max_length=63)
    title = models.CharField(max_length=300)
    result = models.CharField(max_length=8, choices=Result.choices)
    summary = models.CharField(max_length=500)
    evidence = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        ordering = ["incident", "-checked_at", "safeguard_id"]
        indexes = [
            models.Index(
                fields=["incident", "safeguard_id", "-checked_at"], name="safeguard_latest"
            )
        ]

    def __str__(self) -> str:
        return f"{self.safeguard_id}: {self.result}"


class Snapshot(models.Model):
    """The target's fingerprint taken when the incident opened (``baseline: incident_snapshot``)."""

    incident = models.OneToOneField(
        Incident, on_delete=models.CASCADE, related_name="validation_snapshot"
    )
    taken_at = models.DateTimeField()
    data = models.JSONField(default=dict, blank=True)  # validation.fingerprint.Fingerprint
    error = models.TextField(blank=True)  # why no fingerprint could be taken (data is then {})

    class Meta:
        db_table = "validation_snapshot"

    def __str__(self) -> str:
        return f"snapshot of incident {self.incident_id}"

    @property
    def is_usable(self) -> bool:
        return bool(self.data) and not self.error


class CheckResult(models.Model):
    class Result(models.TextChoices):
        PASS = "pass", "Pass"
        FAIL = "fail", "Fail"
        ERROR = "error", "Error"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="check_results")
    run = models.ForeignKey(
        StepRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="check_results"
    )
    validation_id = models.CharField(max_length=63)
    family = models.CharField(max_length=63)
    kind = models.CharField(max_length=16, blank=True)  # the check family that ran it
    title = models.CharField(max_length=300)
    result = models.CharField(max_length=8, choices=Result.choices)
    summary = models.TextField(blank=True)
    # ran / expected / seen / differences, plus the family's own details.
    evidence = models.JSONField(default=dict, blank=True)
    checked_at = models.DateTimeField()

    class Meta:
        db_table = "validation_checkresult"
        ordering = ["incident", "validation_id", "-pk"]
        indexes = [
            models.Index(fields=["incident", "validation_id"], name="check_result_validation"),
        ]

    def __str__(self) -> str:
        return f"{self.validation_id}: {self.result}"


class SafeguardConfirmation(models.Model):
    """A person's word that a manual safeguard holds: who, when, a note, and until when.

    Only ever inserted; the newest one still valid is what a gate reads.
    """

    incident = models.ForeignKey(
        Incident, on_delete=models.CASCADE, related_name="safeguard_confirmations"
    )
    safeguard_id = models.CharField(max_length=63)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    confirmed_at = models.DateTimeField()
    valid_until = models.DateTimeField()
    note = models.TextField(blank=True)
    # The passing staging drill this rests on (services.drill_evidence); none: a person's word.
    evidence_incident = models.ForeignKey(
        Incident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["incident", "-confirmed_at"]
        indexes = [
            models.Index(
                fields=["incident", "safeguard_id", "-confirmed_at"], name="safeguard_confirmed"
            )
        ]

    def __str__(self) -> str:
        return f"{self.safeguard_id} confirmed by {self.confirmed_by_id}"
