"""Cross-reference checks on a parsed runbook: what one field cannot know alone.

Each check returns every problem it finds (never just the first), located
through the file's ``Locator``, so one run of ``check_runbook`` shows a runbook
author the whole list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from runbooks.envnames import reserved_reason
from runbooks.importers.commands import check_commands
from runbooks.importers.communication import check_communications
from runbooks.importers.problems import Loc, Locator, Problem
from runbooks.importers.validations import check_validation_params
from runbooks.specs import RunbookSpec, StepKind, StepSpec

Check = Callable[[RunbookSpec, Locator], list[Problem]]


def check_references(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    """All cross-reference problems of ``spec``, in file order."""
    problems: list[Problem] = []
    for check in _CHECKS:
        problems += check(spec, locator)
    return sorted(problems, key=lambda problem: problem.line)


def _steps(spec: RunbookSpec) -> Iterator[tuple[Loc, int, StepSpec]]:
    """Every step with its location and the index of its phase."""
    for i, phase in enumerate(spec.phases):
        for j, step in enumerate(phase.steps):
            yield ("phases", i, "steps", j), i, step


def _keyed(spec: RunbookSpec) -> Iterator[tuple[str, list[tuple[Loc, str]]]]:
    """Each id namespace of the file with the (location, id) pairs in it."""
    for name in (
        "roles",
        "environments",
        "triggers",
        "safeguards",
        "phases",
        "validations",
        "success_criteria",
        "communications",
        "post_actions",
        "contacts",
    ):
        items = getattr(spec, name)
        yield name, [((name, i), item.id) for i, item in enumerate(items)]
    # Step ids are one namespace across all phases: `requires` names steps by id alone.
    yield "steps", [(loc, step.id) for loc, _, step in _steps(spec)]


def _duplicate_ids(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    problems = []
    for name, items in _keyed(spec):
        first: dict[str, Loc] = {}
        for loc, key in items:
            if key in first:
                line = locator.line((*first[key], "id"))
                message = f"duplicate id {key!r} in {name} (first at line {line})"
                problems.append(locator.problem((*loc, "id"), message))
            else:
                first[key] = loc
    return problems


def _unknown_roles(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    known = spec.role_ids
    named: list[tuple[Loc, str | None]] = []
    for loc, _, step in _steps(spec):
        named += [((*loc, "owner"), step.owner), ((*loc, "approval"), step.approval)]
    named += [(("communications", i, "owner"), c.owner) for i, c in enumerate(spec.communications)]
    named += [(("post_actions", i, "owner"), a.owner) for i, a in enumerate(spec.post_actions)]
    named += [(("safeguards", i, "owner"), s.owner) for i, s in enumerate(spec.safeguards)]
    named += [
        (("success_criteria", i, "signoff"), c.signoff) for i, c in enumerate(spec.success_criteria)
    ]
    listing = ", ".join(sorted(known))
    return [
        locator.problem(loc, f"unknown role {role!r} (roles: {listing})")
        for loc, role in named
        if role is not None and role not in known
    ]


def _requires(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    phase_of: dict[str, int] = {}
    for _, i, step in _steps(spec):
        phase_of.setdefault(step.id, i)
    problems = []
    for loc, i, step in _steps(spec):
        for k, required in enumerate(step.requires):
            where = (*loc, "requires", k)
            if required not in phase_of:
                problems.append(locator.problem(where, f"unknown step {required!r}"))
            elif phase_of[required] > i:
                later = spec.phases[phase_of[required]].id
                message = f"requires step {required!r} of a later phase ({later!r})"
                problems.append(locator.problem(where, message))
    return problems


def _requires_cycles(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    """One problem per dependency cycle, at the ``requires`` entry that closes it."""
    steps: dict[str, tuple[Loc, StepSpec]] = {}
    for loc, _, step in _steps(spec):
        steps.setdefault(step.id, (loc, step))  # a duplicate id is reported by _duplicate_ids
    # Unknown ids are reported by _requires; they cannot be part of a cycle.
    graph = {key: [r for r in step.requires if r in steps] for key, (_, step) in steps.items()}

    problems = []
    done: set[str] = set()
    for root in graph:
        if root in done:
            continue
        # Iterative depth-first search: a long chain of steps must not hit the
        # recursion limit. `path` is the chain being explored right now.
        path = [root]
        pending = [iter(graph[root])]
        while pending:
            nxt = next(pending[-1], None)
            if nxt is None:
                done.add(path.pop())
                pending.pop()
            elif nxt in path:
                cycle = [*path[path.index(nxt) :], nxt]
                loc, closing = steps[path[-1]]
                k = closing.requires.index(nxt)
                message = "requires cycle: " + " -> ".join(cycle)
                problems.append(locator.problem((*loc, "requires", k), message))
            elif nxt not in done:
                path.append(nxt)
                pending.append(iter(graph[nxt]))
    return problems


def _validation_refs(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    known = {validation.id for validation in spec.validations}
    refs: list[tuple[Loc, str]] = []
    problems = []
    for loc, _, step in _steps(spec):
        refs += [((*loc, "validations", k), v) for k, v in enumerate(step.validations)]
        if step.kind == StepKind.VALIDATION and not step.validations:
            message = "a validation step names the validations it runs"
            problems.append(locator.problem((*loc, "validations"), message))
    for i, criterion in enumerate(spec.success_criteria):
        refs += [
            (("success_criteria", i, "validations", k), v)
            for k, v in enumerate(criterion.validations)
        ]
    problems += [
        locator.problem(loc, f"unknown validation {key!r}") for loc, key in refs if key not in known
    ]
    return problems


def _safeguard_refs(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    known = {safeguard.id for safeguard in spec.safeguards}
    problems = []
    for loc, _, step in _steps(spec):
        for k, key in enumerate(step.safeguards):
            if key not in known:
                problems.append(
                    locator.problem((*loc, "safeguards", k), f"unknown safeguard {key!r}")
                )
            elif step.kind in (StepKind.MANUAL,):
                message = "only a scripted step's run waits for safeguards; a manual step is ticked"
                problems.append(locator.problem((*loc, "safeguards", k), message))
    return problems


def _phase_refs(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    known = {phase.id for phase in spec.phases}
    return [
        locator.problem(("communications", i, "phases", k), f"unknown phase {key!r}")
        for i, communication in enumerate(spec.communications)
        for k, key in enumerate(communication.phases)
        if key not in known
    ]


def _phase_order(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    # Each window's own start < end rule is a field validator in PhaseSpec.
    problems = []
    for i in range(1, len(spec.phases)):
        previous, phase = spec.phases[i - 1], spec.phases[i]
        if phase.starts_at_minutes < previous.starts_at_minutes:
            message = (
                f"phase starts at minute {phase.starts_at_minutes}, before the previous "
                f"phase {previous.id!r} (minute {previous.starts_at_minutes})"
            )
            problems.append(locator.problem(("phases", i, "starts_at_minutes"), message))
    return problems


def _command_env(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    """A step's ``command.env`` names variables every environment must define.

    Caught here rather than at 2 a.m., when the production run finds the
    variable missing half-way through the rollback.
    """
    problems = []
    for loc, _, step in _steps(spec):
        names = step.command.get("env")
        if names is None:
            continue
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            message = "a list of environment variable names"
            problems.append(locator.problem((*loc, "command", "env"), message))
            continue
        parameters = {parameter.name for parameter in spec.parameters}
        for k, name in enumerate(names):
            missing = [
                env.id
                for env in spec.environments
                if name not in env.variables and name not in env.secrets and name not in parameters
            ]
            if missing:
                message = f"variable {name!r} is not defined in environment(s) {', '.join(missing)}"
                problems.append(locator.problem((*loc, "command", "env", k), message))
    return problems


def _reserved_names(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    """Variables and secrets whose names would change what code a step runs."""
    problems = []
    for i, env in enumerate(spec.environments):
        for kind, names in (("variables", list(env.variables)), ("secrets", list(env.secrets))):
            for name in names:
                if reason := reserved_reason(name):
                    message = f"{name!r} may not be set by a runbook: {reason}"
                    problems.append(locator.problem(("environments", i, kind, name), message))
    return problems


def _parameters(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    """Parameters are data the IC types: never a secret, never a name that changes what runs."""
    problems = []
    seen: set[str] = set()
    secrets = {name: env.id for env in spec.environments for name in env.secrets}
    for i, parameter in enumerate(spec.parameters):
        where = ("parameters", i, "name")
        name = parameter.name
        if name in seen:
            problems.append(locator.problem(where, f"duplicate parameter {name!r}"))
        seen.add(name)
        if reason := reserved_reason(name):
            problems.append(locator.problem(where, f"{name!r} may not be a parameter: {reason}"))
        if name in secrets:
            message = (
                f"{name!r} is a secret in environment {secrets[name]!r}: a secret may not be a "
                "parameter (it would be typed, shown and stored)"
            )
            problems.append(locator.problem(where, message))
    return problems


def _rule_thresholds(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    # Checked when a file is read, not by the model: stored versions written before
    # rules were evaluated may hold a prometheus rule without one (shown, never evaluated).
    return [
        locator.problem(("triggers", i, "rule"), "a prometheus rule needs 'threshold'")
        for i, trigger in enumerate(spec.triggers)
        if trigger.rule is not None
        and trigger.rule.source == "prometheus"
        and trigger.rule.threshold is None
    ]


def _metric_ids(spec: RunbookSpec, locator: Locator) -> list[Problem]:
    """A criterion's metric checks are keyed by id (their measurements name it)."""
    problems = []
    for i, criterion in enumerate(spec.success_criteria):
        seen: set[str] = set()
        for j, metric in enumerate(criterion.metrics):
            if metric.id in seen:
                where = ("success_criteria", i, "metrics", j, "id")
                problems.append(locator.problem(where, f"duplicate metric id {metric.id!r}"))
            seen.add(metric.id)
    return problems


_CHECKS: tuple[Check, ...] = (
    _duplicate_ids,
    _unknown_roles,
    _requires,
    _requires_cycles,
    _validation_refs,
    _safeguard_refs,
    _phase_refs,
    _phase_order,
    _command_env,
    _reserved_names,
    _parameters,
    check_commands,
    check_validation_params,
    check_communications,
    _rule_thresholds,
    _metric_ids,
)
