"""Incidents: a runbook version being executed, with its people, steps, runs, checks and record.

One module per part of the aggregate; every model is importable from here.
"""

from __future__ import annotations

from incidents.models.checks import CheckResult, SafeguardCheck, SafeguardConfirmation, Snapshot
from incidents.models.closing import Criterion, FollowUp
from incidents.models.incident import (
    Incident,
    IncidentRole,
    Phase,
    RoleAssignment,
    Step,
    StepRun,
    StepRunLogChunk,
    TimelineEntry,
)
from incidents.models.measuring import MetricMeasurement
from incidents.models.scheduled import ScheduledDrill
from incidents.models.scorecard import DrillScorecard

__all__ = [
    "CheckResult",
    "Criterion",
    "DrillScorecard",
    "FollowUp",
    "Incident",
    "IncidentRole",
    "MetricMeasurement",
    "Phase",
    "RoleAssignment",
    "SafeguardCheck",
    "SafeguardConfirmation",
    "ScheduledDrill",
    "Snapshot",
    "Step",
    "StepRun",
    "StepRunLogChunk",
    "TimelineEntry",
]
