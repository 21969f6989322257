"""Writes of an incident's checks, and what a validation step runs.

- ``take_snapshot``: fingerprint the target when the incident opens (the
  ``incident_snapshot`` baseline); call it through ``incidents.tasks.take_snapshot_task``,
  since it connects to the target and belongs on a worker.
- ``command_for_step``: the checks a validation step runs, read from the
  incident's runbook version (the step row only knows its kind).
- ``record_results``: one ``CheckResult`` per check of a finished validation run.

The reads (latest results, what blocks a phase, the results panel) are in
``incidents.checks.selectors``.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from incidents.environment import resolve_for_incident
from incidents.models import CheckResult, Incident, Snapshot, StepRun
from runbooks.checks import RESULTS, CheckError
from runbooks.executors.base import ExecutorError, Outcome
from runbooks.specs import StepKind
from validation.checks.base import connection_string
from validation.executor import command_for
from validation.fingerprint import fingerprint
from validation.postgres import TargetError

logger = logging.getLogger(__name__)
TITLE_MAX = 300


def command_for_step(run: StepRun) -> dict[str, Any]:
    """The validation executor's command for ``run``: its step's checks, and the incident snapshot."""
    spec = run.incident.runbook_version.parsed()
    step = next((s for s in spec.all_steps() if s.id == run.step.key), None)
    if step is None:
        raise ExecutorError(f"validation: the runbook has no step {run.step.key!r}")
    snapshot = Snapshot.objects.filter(incident_id=run.incident_id).first()
    return command_for(
        spec, step.validations, snapshot.data if snapshot and snapshot.is_usable else None
    )


def take_snapshot(incident_id: int, worker_env: Mapping[str, str] | None = None) -> Snapshot:
    """Fingerprint the incident environment's target once; the baseline of snapshot checks.

    What it records beyond row counts (checksums over which columns, which id
    types) is the runbook's ``snapshot:``.

    A snapshot that was taken is never replaced: a baseline that moves proves
    nothing. One that failed (target unreachable) is tried again on the next call,
    and its error is kept for the page meanwhile. Safe to run twice at once.
    """
    existing = Snapshot.objects.filter(incident_id=incident_id).first()
    if existing is not None and existing.is_usable:
        return existing
    incident = Incident.objects.select_related("runbook_version").get(pk=incident_id)
    data: dict[str, Any] = {}
    error = ""
    try:
        env = resolve_for_incident(
            incident, dict(os.environ if worker_env is None else worker_env)
        ).env
        declared = incident.runbook_version.parsed().snapshot  # what the runbook says to record
        dsn = connection_string({}, env)
        data = dict(fingerprint(dsn, checksums=declared.checksums, id_tables=declared.id_types))
    except (ExecutorError, CheckError, TargetError) as exc:
        error = str(exc) or type(exc).__name__
    fields = {"taken_at": timezone.now(), "data": data, "error": error}
    try:
        with transaction.atomic():
            current = Snapshot.objects.select_for_update().filter(incident_id=incident_id).first()
            if current is None:
                return Snapshot.objects.create(incident_id=incident_id, **fields)
            if current.is_usable:
                return current  # another worker took it meanwhile: theirs stands
            Snapshot.objects.filter(pk=current.pk).update(**fields)
    except IntegrityError:  # another worker created the row between our check and insert
        pass
    return Snapshot.objects.get(incident_id=incident_id)


def record_results(run_id: int, outcome: Outcome) -> list[CheckResult]:
    """Store one ``CheckResult`` per check of a finished validation run (others: nothing).

    Called by ``finish_run`` in its transaction, once the run's outcome is stored,
    so the results and the run's status commit (or not) together.
    """
    run = StepRun.objects.select_related("step").get(pk=run_id)
    if run.step.kind != StepKind.VALIDATION:
        return []
    rows = []
    for item in outcome.evidence.get("checks", []):
        if not isinstance(item, Mapping) or not item.get("id"):
            logger.warning("run %s: a validation result without an id was not stored", run_id)
            continue
        result = item.get("result")
        rows.append(
            CheckResult(
                incident_id=run.incident_id,
                run=run,
                validation_id=str(item["id"]),
                family=str(item.get("family", "")),
                kind=str(item.get("kind", "")),
                title=str(item.get("title", item["id"]))[:TITLE_MAX],
                result=result if result in RESULTS else CheckResult.Result.ERROR,
                summary=str(item.get("summary", "")),
                evidence=dict(item.get("evidence") or {}),
                checked_at=_checked_at(item.get("checked_at")),
            )
        )
    return CheckResult.objects.bulk_create(rows)


def _checked_at(value: Any) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return timezone.now()
    return parsed if timezone.is_aware(parsed) else timezone.now()
