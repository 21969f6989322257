"""Which runbook and environment an alert is about: labels, then the runbooks' triggers, then the receiver."""

from __future__ import annotations

from dataclasses import dataclass

from runbooks.models import Runbook
from runbooks.specs import RunbookSpec
from triggers.models import Receiver
from triggers.payloads import ParsedAlert, PayloadError
from triggers.selectors import HEAVY_VERSION_FIELDS

RUNBOOK_LABEL = "ripcord_runbook"
ENVIRONMENT_LABEL = "ripcord_environment"


@dataclass(frozen=True)
class Target:
    runbook: Runbook
    environment: str
    trigger_key: str  # the runbook trigger the alert matched ("" for none)


def matching_trigger(spec: RunbookSpec, alertname: str) -> str:
    """The id of the trigger an alert of this name is about: its rule's ``alertname``, or its id."""
    for trigger in spec.triggers:
        if trigger.rule is not None and trigger.rule.alertname == alertname:
            return trigger.id
    for trigger in spec.triggers:
        if trigger.id == alertname:
            return trigger.id
    return ""


class Router:
    """Resolves targets for one notification, reading each runbook's spec once."""

    def __init__(self, receiver: Receiver) -> None:
        self.receiver = receiver
        self._runbooks: list[Runbook] | None = None

    def _all(self) -> list[Runbook]:
        if self._runbooks is None:
            self._runbooks = list(
                Runbook.objects.select_related("current_version")
                .defer(*(f"current_version__{name}" for name in HEAVY_VERSION_FIELDS))
                .exclude(current_version=None)
            )
        return self._runbooks

    def target(self, alert: ParsedAlert, where: str) -> Target:
        default = self.receiver.runbook
        if slug := alert.labels.get(RUNBOOK_LABEL):
            runbook = next((r for r in self._all() if r.slug == slug), None)
            if runbook is None:
                raise PayloadError(f"{where}.labels.{RUNBOOK_LABEL}", f"no runbook {slug[:63]!r}")
            candidates = [runbook]
        else:
            version = default.current_version
            if version is not None and matching_trigger(version.parsed(), alert.alertname):
                candidates = [default]  # the common case: no other runbook is read
            else:
                candidates = [default] + [r for r in self._all() if r.pk != default.pk]
        chosen, trigger_key = candidates[0], ""
        for runbook in candidates:
            if runbook.current_version is None:
                continue
            if key := matching_trigger(runbook.current_version.parsed(), alert.alertname):
                chosen, trigger_key = runbook, key
                break
        environment = alert.labels.get(ENVIRONMENT_LABEL) or self.receiver.environment
        version = chosen.current_version
        if version is None:
            raise PayloadError(where, f"runbook {chosen.slug!r} has no loaded version")
        if environment not in {env.id for env in version.parsed().environments}:
            field = f"{where}.labels.{ENVIRONMENT_LABEL}"
            raise PayloadError(
                field, f"runbook {chosen.slug!r} has no environment {environment[:63]!r}"
            )
        return Target(chosen, environment, trigger_key)
