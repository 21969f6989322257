"""Each machine check's ``params`` checked by the check family that will run it.

The family owns its params, as an executor owns its command (``importers.commands``):
asking it when the runbook loads turns a typo in a validation into a located
error in ``check_runbook``, not an "error" result in the middle of an incident.

A validation's check must have a family. A safeguard's check is only asked when a
family of its kind exists: ``backup`` and ``flag`` safeguards are evaluated by the
pre-flight checks, not by the validation families.
"""

from __future__ import annotations

from runbooks.importers.problems import Locator, Problem
from runbooks.specs import RunbookSpec
from validation.checks import FAMILIES, validate_check


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
        if safeguard.check is None or safeguard.check.kind not in FAMILIES:
            continue
        for message in validate_check(safeguard.check.kind, safeguard.check.params):
            problems.append(locator.problem(("safeguards", i, "check", "params"), message))
    return problems
