"""Reads of validation results (the validation app fills these in as it grows)."""

from __future__ import annotations

from incidents.models import Phase


def failed_checks_blocking(phase: Phase) -> list[str]:
    """Titles of validations required by the phase whose latest result is not a pass.

    No check results are stored yet in this revision, so nothing blocks.
    """
    return []


def latest_results(incident_id: int) -> dict[str, str]:
    """Validation id → latest result ("pass", "fail", "error"); none are stored yet here."""
    return {}
