"""Success criteria: whether each is met, and what is missing. Reads only."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from incidents.checks.selectors import latest_results
from incidents.models import Criterion, Incident, MetricMeasurement


@dataclass(frozen=True)
class MetricStatus:
    """A metric check and its latest measurement (None: not measured yet)."""

    key: str
    title: str
    hold_minutes: int
    last: MetricMeasurement | None
    missing: str  # "" when met

    @property
    def is_met(self) -> bool:
        return not self.missing

    @property
    def evidence(self) -> str:
        """The last word on the check: "errors: 0.03 ≤ 0.1 on 830 samples over 5m; held 5 min"."""
        if self.last is None:
            return f"{self.title}: not measured"
        words = f"{self.title}: {self.last.reason}"
        if self.last.held_since is not None:
            words += f"; held {self.held_minutes:.0f} of {self.hold_minutes} min"
        return words + f" (measured {self.last.measured_at:%Y-%m-%d %H:%M} UTC)"

    @property
    def held_minutes(self) -> float:
        if self.last is None or self.last.held_since is None:
            return 0.0
        return (self.last.measured_at - self.last.held_since).total_seconds() / 60


@dataclass(frozen=True)
class CriterionStatus:
    criterion: Criterion
    missing: list[str]
    metrics: list[MetricStatus] = field(default_factory=list)

    @property
    def is_met(self) -> bool:
        return not self.missing


def metric_missing(
    key: str, hold_minutes: int, last: MetricMeasurement | None, now: datetime | None
) -> str:
    """Why the check is not met, in words ("" when it is). ``now`` None: no staleness.

    ``key``: how the check is named, its title when it has one (the PM reads this too).
    """
    if last is None:
        return f"{key}: not measured yet"
    if now is not None:
        age = (now - last.measured_at).total_seconds()
        if age > settings.RIPCORD_TRIGGER_INTERVAL * 2.5:
            return f"{key}: last measured {age / 60:.0f} min ago ({last.reason})"
    if last.outcome != MetricMeasurement.Outcome.PASS or last.held_since is None:
        return f"{key}: {last.reason}"
    held = (last.measured_at - last.held_since).total_seconds() / 60
    if held < hold_minutes:
        return f"{key}: {last.reason}; held {held:.0f} of {hold_minutes} min"
    return ""


def latest_measurements(incident: Incident) -> dict[tuple[int, str], MetricMeasurement]:
    """The latest measurement of each (criterion, metric) of the incident (one query)."""
    newest = MetricMeasurement.objects.filter(
        criterion_id=OuterRef("criterion_id"), metric_key=OuterRef("metric_key")
    ).order_by("-measured_at", "-pk")
    rows = MetricMeasurement.objects.filter(incident=incident, pk=Subquery(newest.values("pk")[:1]))
    return {(m.criterion_id, m.metric_key): m for m in rows}


def criteria_status(incident: Incident) -> list[CriterionStatus]:
    """Every criterion with what keeps it from being met (three queries)."""
    results = latest_results(incident.pk)
    # Checks by their titles: the product manager reads this panel too.
    titles = {v.id: v.title for v in incident.runbook_version.parsed().validations}
    criteria = list(Criterion.objects.filter(incident=incident).select_related("signed_off_by"))
    measured = latest_measurements(incident) if any(c.metrics for c in criteria) else {}
    # Staleness counts while the incident is active; afterwards the last word stands.
    now = timezone.now() if incident.status == Incident.Status.ACTIVE else None
    statuses = []
    for criterion in criteria:
        missing = [
            f"check “{titles.get(vid, vid)}” "
            f"{'has not run' if vid not in results else 'did not pass'}"
            for vid in criterion.validations
            if results.get(vid) != "pass"
        ]
        metrics = []
        for raw in criterion.metrics:
            key, hold = str(raw["id"]), int(raw.get("hold_minutes", 0))
            title = str(raw.get("title") or key)
            last = measured.get((criterion.pk, key))
            gap = metric_missing(f"metric “{title}”", hold, last, now)
            metrics.append(MetricStatus(key, title, hold, last, gap))
            if gap:
                missing.append(gap)
        if criterion.signoff_role and criterion.signed_off_by_id is None:
            missing.append(f"sign-off by {criterion.signoff_role.replace('_', ' ')}")
        statuses.append(CriterionStatus(criterion, missing, metrics))
    return statuses
