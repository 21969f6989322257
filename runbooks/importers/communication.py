"""Cross-reference checks of the communication blocks (runbooks.communication).

Each problem is located at its own field: an unknown placeholder at the template
that uses it, a destination an item names at that name, a destination missing
from an environment at the item's reference (with the environment named).
"""

from __future__ import annotations

from runbooks.communication import template_problems
from runbooks.importers.problems import Locator, Problem
from runbooks.specs import RunbookSpec


def check_communications(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    problems: list[Problem] = []
    for i, item in enumerate(spec.communications):
        for message in template_problems(item.template):
            problems.append(locator.problem(("communications", i, "template"), message))
        for k, key in enumerate(item.destinations):
            missing = [
                env.id
                for env in spec.environments
                if key not in {destination.id for destination in env.destinations}
            ]
            if missing:
                message = (
                    f"destination {key!r} is not declared in environment(s) {', '.join(missing)}"
                )
                problems.append(locator.problem(("communications", i, "destinations", k), message))
        if item.automatic and not (item.phases and item.destinations):
            message = "an automatic item names the phases it is sent at and its destinations"
            problems.append(locator.problem(("communications", i, "automatic"), message))
    for message in template_problems(spec.talking_points):
        problems.append(locator.problem(("talking_points",), message))
    for i, env in enumerate(spec.environments):
        seen: set[str] = set()
        for j, destination in enumerate(env.destinations):
            if destination.id in seen:
                message = f"duplicate destination {destination.id!r}"
                problems.append(
                    locator.problem(("environments", i, "destinations", j, "id"), message)
                )
            seen.add(destination.id)
    return problems
