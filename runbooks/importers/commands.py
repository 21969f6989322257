"""Each scripted step's ``command`` checked by the executor that will run it.

The executor owns its command format; asking it at load time means a typo in
a runbook is a located error in ``check_runbook``, not a failed run mid-incident.
"""

from __future__ import annotations

from runbooks.executors import get_executor, kinds
from runbooks.importers.problems import Locator, Problem
from runbooks.specs import RunbookSpec


def check_commands(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    problems = []
    for i, phase in enumerate(spec.phases):
        for j, step in enumerate(phase.steps):
            if step.kind.value not in kinds():
                continue  # manual and validation steps have no executor command
            for message in get_executor(step.kind.value).validate(step.command):
                if message.startswith("shell: 'script'"):
                    continue  # importers.scripts checks the path, located at command.script
                problems.append(locator.problem(("phases", i, "steps", j, "command"), message))
    return problems
