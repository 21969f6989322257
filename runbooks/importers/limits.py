"""The most a runbook may declare, and the check that says where a file goes past it.

The bounds keep everything after loading cheap and sound: the incident page at
2,000 steps, the copy of a runbook into each incident, the spec and scripts
stored in every version. Titles are bounded by the database columns they are
copied into (a longer one passed ``check_runbook`` and then made opening an
incident fail with a 500). The counts are checked right after parsing, before
the cross-reference checks, so those never run on an absurd file.

The limits live here rather than in ``runbooks.specs`` on purpose: versions
loaded before them are re-read through the specs, and must keep reading.
"""

from __future__ import annotations

from runbooks.importers.problems import Loc, Locator, Problem
from runbooks.specs import RunbookSpec

MIB = 1024 * 1024
MAX_FILE_BYTES = 2 * MIB
MAX_SCRIPT_BYTES = 1 * MIB
MAX_SCRIPTS_BYTES = 8 * MIB  # all the scripts of one runbook together
MAX_ALIAS_NODES = 100_000
"""Values YAML aliases may add to a file, all aliases together: about what a file at
the size limit holds written out, and a billion fewer than a "billion laughs"."""

MAX_PHASES = 100
MAX_STEPS = 2_000  # across all phases
MAX_ITEMS = {
    "roles": 100,
    "environments": 50,
    "triggers": 200,
    "safeguards": 200,
    "validations": 500,
    "success_criteria": 200,
    "communications": 200,
    "post_actions": 500,
    "contacts": 200,
}
MAX_NAMES_PER_ENVIRONMENT = 200  # variables and secrets together
RESERVED_IDS = frozenset({"import"})
"""Runbook ids that name a page of their own (``/runbooks/import/``, runbooks/urls.py):
a runbook with such an id could never be opened."""

MAX_TITLE_CHARS = {
    "title": 200,  # Runbook.title
    "roles": 200,  # IncidentRole.title
    "phases": 200,  # Phase.title
    "steps": 300,  # Step.title
    "validations": 300,  # CheckResult.title
    "success_criteria": 300,  # Criterion.title
    "safeguards": 300,  # SafeguardCheck.title
    "post_actions": 300,  # FollowUp.title
}


def size_text(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit % MIB == 0 else f"{limit:,} bytes"


def check_limits(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    """A problem at the first item past each count limit, and at each over-long title."""
    phases: list[Loc] = [("phases", i) for i in range(len(spec.phases))]
    steps: list[Loc] = [
        ("phases", i, "steps", j) for i, p in enumerate(spec.phases) for j in range(len(p.steps))
    ]
    problems = _past(locator, "phases", phases, MAX_PHASES)
    problems += _past(locator, "steps", steps, MAX_STEPS)
    for name, limit in MAX_ITEMS.items():
        count = len(getattr(spec, name))
        problems += _past(locator, name.replace("_", " "), [(name, i) for i in range(count)], limit)
    for i, env in enumerate(spec.environments):
        names: list[Loc] = [("environments", i, "variables", n) for n in env.variables]
        names += [("environments", i, "secrets", n) for n in env.secrets]
        if len(names) > MAX_NAMES_PER_ENVIRONMENT:
            message = (
                f"an environment may declare at most {MAX_NAMES_PER_ENVIRONMENT:,} "
                "variables and secrets together"
            )
            problems.append(locator.problem(names[MAX_NAMES_PER_ENVIRONMENT], message))
    if spec.id in RESERVED_IDS:
        problems.append(
            locator.problem(("id",), f"{spec.id!r} is reserved: it names a page of Ripcord's")
        )
    return problems + _long_titles(spec, locator)


def _past(locator: Locator, what: str, items: list[Loc], limit: int) -> list[Problem]:
    if len(items) <= limit:
        return []
    message = f"a runbook may declare at most {limit:,} {what}; split it into several runbooks"
    return [locator.problem(items[limit], message)]


def _long_titles(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    titled: list[tuple[Loc, str, int]] = [(("title",), spec.title, MAX_TITLE_CHARS["title"])]
    for name in (
        "roles",
        "phases",
        "validations",
        "success_criteria",
        "safeguards",
        "post_actions",
    ):
        limit = MAX_TITLE_CHARS[name]
        items = getattr(spec, name)
        titled += [((name, i, "title"), item.title, limit) for i, item in enumerate(items)]
    titled += [
        (("phases", i, "steps", j, "title"), step.title, MAX_TITLE_CHARS["steps"])
        for i, phase in enumerate(spec.phases)
        for j, step in enumerate(phase.steps)
    ]
    return [
        locator.problem(loc, f"at most {limit:,} characters (this one has {len(title):,})")
        for loc, title, limit in titled
        if len(title) > limit
    ]
