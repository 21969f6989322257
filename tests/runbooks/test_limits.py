"""The sizes a runbook may declare: refused with a located error, not a slow page or a 500 later."""

from __future__ import annotations

import pytest

from incidents.models import Criterion, FollowUp, IncidentRole, Phase, SafeguardCheck, Step
from incidents.models.checks import CheckResult
from runbooks.importers.files import read_runbook_file
from runbooks.importers.problems import RunbookError
from runbooks.models import Runbook

MAX_STEPS, MAX_PHASES, MAX_ROLES, MAX_VALIDATIONS = 2000, 100, 100, 500


def runbook(*, phases: int = 1, steps: int = 1, roles: int = 1, validations: int = 0) -> str:
    role_lines = "".join(f"  - {{id: r{n}, title: Role {n}}}\n" for n in range(roles))
    validation_lines = "".join(
        f"  - {{id: v{n}, family: data, title: Check {n}}}\n" for n in range(validations)
    )
    phase_lines = ""
    for p in range(phases):
        phase_lines += (
            f"  - id: p{p}\n    title: Phase {p}\n"
            f"    starts_at_minutes: {p}\n    ends_at_minutes: {p + 1}\n    steps:\n"
        )
        count = steps if p == 0 else 1
        phase_lines += "".join(
            f"      - {{id: s{p}-{n}, title: Step {n}, owner: r0}}\n" for n in range(count)
        )
    return (
        "id: big\ntitle: Big\n"
        f"roles:\n{role_lines}"
        "environments:\n  - {id: staging, title: Staging}\n"
        f"phases:\n{phase_lines}" + (f"validations:\n{validation_lines}" if validations else "")
    )


def problems(write_runbook, text: str) -> list[str]:
    path = write_runbook(text, scripts={})
    with pytest.raises(RunbookError) as caught:
        read_runbook_file(path)
    return [str(p).removeprefix(f"{path}:") for p in caught.value.problems]


def test_the_largest_allowed_runbook_loads(write_runbook):
    text = runbook(phases=MAX_PHASES, steps=MAX_STEPS - MAX_PHASES + 1)

    spec = read_runbook_file(write_runbook(text, scripts={})).spec

    assert (len(spec.phases), len(spec.all_steps())) == (MAX_PHASES, MAX_STEPS)


def test_one_step_too_many_is_refused_at_that_step(write_runbook, line_of):
    text = runbook(steps=MAX_STEPS + 1)

    assert problems(write_runbook, text) == [
        f"{line_of(text, '{id: s0-2000,')}: phases[0].steps[2000]: "
        "a runbook may declare at most 2,000 steps; split it into several runbooks"
    ]


def test_one_phase_too_many_is_refused_at_that_phase(write_runbook, line_of):
    text = runbook(phases=MAX_PHASES + 1)

    assert problems(write_runbook, text) == [
        f"{line_of(text, '- id: p100')}: phases[100]: "
        "a runbook may declare at most 100 phases; split it into several runbooks"
    ]


def test_one_role_too_many_is_refused_at_that_role(write_runbook, line_of):
    text = runbook(roles=MAX_ROLES + 1)

    assert problems(write_runbook, text) == [
        f"{line_of(text, '{id: r100,')}: roles[100]: "
        "a runbook may declare at most 100 roles; split it into several runbooks"
    ]


def test_one_validation_too_many_is_refused_at_that_validation(write_runbook, line_of):
    text = runbook(validations=MAX_VALIDATIONS + 1)

    assert problems(write_runbook, text) == [
        f"{line_of(text, '{id: v500,')}: validations[500]: "
        "a runbook may declare at most 500 validations; split it into several runbooks"
    ]


def test_a_title_longer_than_its_column_is_refused_at_its_field(write_runbook, line_of):
    text = runbook().replace("title: Step 0,", f"title: {'x' * 301},")

    assert problems(write_runbook, text) == [
        f"{line_of(text, 'x' * 301)}: phases[0].steps[0].title: "
        "at most 300 characters (this one has 301)"
    ]


def test_a_phase_title_longer_than_its_column_is_refused(write_runbook, line_of):
    text = runbook().replace("title: Phase 0\n", f"title: {'y' * 201}\n")

    assert problems(write_runbook, text) == [
        f"{line_of(text, 'y' * 201)}: phases[0].title: at most 200 characters (this one has 201)"
    ]


@pytest.mark.parametrize(
    ("where", "model", "field"),
    [
        ("title", Runbook, "title"),
        ("roles", IncidentRole, "title"),
        ("phases", Phase, "title"),
        ("steps", Step, "title"),
        ("validations", CheckResult, "title"),
        ("success_criteria", Criterion, "title"),
        ("safeguards", SafeguardCheck, "title"),
        ("post_actions", FollowUp, "title"),
    ],
)
def test_title_limits_fit_the_columns_they_are_stored_in(where, model, field):
    from runbooks.importers import limits

    assert limits.MAX_TITLE_CHARS[where] <= model._meta.get_field(field).max_length


def test_a_runbook_id_that_names_a_page_is_refused(write_runbook):
    """``/runbooks/import/`` is the import page: a runbook with that id could never be opened."""
    text = runbook().replace("id: big", "id: import", 1)
    assert "id: import" in text
    assert problems(write_runbook, text) == [
        "1: id: 'import' is reserved: it names a page of Ripcord's"
    ]
