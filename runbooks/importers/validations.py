"""Each machine check's ``params`` checked by the check family that will run it.

The family owns its params, as an executor owns its command (``importers.commands``):
asking it when the runbook loads turns a typo in a validation into a located
error in ``check_runbook``, not an "error" result in the middle of an incident.

Validations and safeguards share one registry of families (``runbooks.checks``,
filled by the validation app): every check must name a registered kind.
"""

from __future__ import annotations

from runbooks.checks import FAMILIES, validate_check
from runbooks.importers.problems import Locator, Problem
from runbooks.specs import RunbookSpec


def check_validation_params(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    problems = []
    for i, validation in enumerate(spec.validations):
        if validation.check is None:
            continue  # verified by hand; the step's run records it as not machine-checked
        where = ("validations", i, "check")
        for message in validate_check(validation.check.kind, validation.check.params):
            field = "kind" if validation.check.kind not in FAMILIES else "params"
            problems.append(locator.problem((*where, field), message))
    for i, safeguard in enumerate(spec.safeguards):
        if safeguard.check is None:
            continue  # confirmed by a person on the incident
        where = ("safeguards", i, "check")
        for message in validate_check(safeguard.check.kind, safeguard.check.params):
            field = "kind" if safeguard.check.kind not in FAMILIES else "params"
            problems.append(locator.problem((*where, field), message))
    return problems
