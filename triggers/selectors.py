"""Reads of the triggers app: the banner's proposals, receivers, an incident's alerts."""

from __future__ import annotations

from django.db.models import F, Prefetch, QuerySet, Window
from django.db.models.functions import RowNumber

from incidents.models import Incident
from triggers.models import Alert, Evaluation, Proposal, Receiver

BANNER_ALERTS = 5
HEAVY_VERSION_FIELDS = ("source", "spec", "files")


def receiver_by_hook(hook_id: str) -> Receiver | None:
    if not hook_id or len(hook_id) > 64:
        return None
    # The default runbook's current version comes along: routing most alerts needs nothing else.
    # Its spec is read only when this process has not parsed that version yet (parsed()).
    return (
        Receiver.objects.select_related("runbook__current_version")
        .defer(*(f"runbook__current_version__{name}" for name in HEAVY_VERSION_FIELDS))
        .filter(hook_id=hook_id)
        .first()
    )


def open_proposals() -> QuerySet[Proposal]:
    """Open proposals, newest first, each with its alerts (two queries)."""
    return (
        Proposal.objects.filter(status=Proposal.Status.OPEN)
        .select_related("runbook")
        .prefetch_related(
            Prefetch("alerts", queryset=Alert.objects.order_by("-received_at", "-pk"))
        )
        .order_by("-created_at")
    )


def proposals(limit: int = 100) -> QuerySet[Proposal]:
    return (
        Proposal.objects.select_related("runbook", "decided_by", "incident")
        .prefetch_related("alerts")
        .order_by("-created_at")[:limit]
    )


def proposal(proposal_id: int) -> Proposal | None:
    return (
        Proposal.objects.select_related("runbook", "decided_by")
        .prefetch_related("alerts")
        .filter(pk=proposal_id)
        .first()
    )


def receivers() -> QuerySet[Receiver]:
    return Receiver.objects.select_related("runbook", "created_by").order_by("-created_at")


def alerts_of(incident: Incident) -> list[Alert]:
    return list(Alert.objects.filter(incident=incident).order_by("starts_at", "pk"))


def recent_evaluations(runbook_slug: str, per_rule: int = 5) -> dict[str, list[Evaluation]]:
    """Each trigger's last ``per_rule`` evaluations per environment, newest first, by trigger id."""
    rows = (
        Evaluation.objects.filter(runbook__slug=runbook_slug)
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("trigger_key"), F("environment")],
                order_by=[F("evaluated_at").desc(), F("pk").desc()],
            )
        )
        .filter(rank__lte=per_rule)
        .order_by("trigger_key", "environment", "-evaluated_at", "-pk")
    )
    shown: dict[str, list[Evaluation]] = {}
    for row in rows:
        shown.setdefault(row.trigger_key, []).append(row)
    return shown
