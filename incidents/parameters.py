"""An incident's parameters: the values the IC gives when opening it, checked against the runbook.

Pure checks (no writes): the opening service stores what ``check_parameters`` returns,
the open form shows each problem at its field, and the API answers it as a 400.
Values reach steps only as environment variables (``incidents.environment``).
"""

from __future__ import annotations

from collections.abc import Mapping

from runbooks.envnames import reserved_reason
from runbooks.specs import RunbookSpec


def check_parameters(
    spec: RunbookSpec, given: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, str]]:
    """(values to store, problems by parameter name). A blank value takes the default."""
    declared = {p.name: p for p in spec.parameters}
    values: dict[str, str] = {}
    problems: dict[str, str] = {
        name: f"this runbook has no parameter {name}" for name in given if name not in declared
    }
    for name, parameter in declared.items():
        value = given.get(name, "")
        if value == "" and parameter.default is not None:
            value = parameter.default
        if value == "":
            if parameter.required:
                problems[name] = "required"
            continue
        if reserved_reason(name):  # refused at load; an older version's row is still refused
            problems[name] = "this name may not be set"
        elif problem := parameter.problem(value):
            problems[name] = problem
        else:
            values[name] = value
    return values, problems


def describe_problems(problems: Mapping[str, str]) -> str:
    return "; ".join(f"Parameter {name}: {problem}" for name, problem in sorted(problems.items()))
