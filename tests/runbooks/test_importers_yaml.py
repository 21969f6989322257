from __future__ import annotations

import pytest

from runbooks.importers.problems import Problem, RunbookError
from runbooks.importers.yaml import parse_runbook
from tests.runbooks.samples import VALID_RUNBOOK


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(RunbookError) as caught:
        parse_runbook(text, path="rb.yaml")
    return caught.value.problems


def test_parse_runbook_returns_spec_and_field_lines(line_of):
    parsed = parse_runbook(VALID_RUNBOOK, path="rb.yaml")

    assert parsed.spec.id == "demo-rollback"
    assert [step.id for step in parsed.spec.all_steps()] == ["stop_writes", "restore", "check"]
    assert parsed.spec.phases[0].steps[1].requires == ["stop_writes"]
    restore_owner = ("phases", 0, "steps", 1, "owner")
    assert parsed.locator.line(restore_owner) == line_of(VALID_RUNBOOK, "title: Restore") + 1


def test_parse_runbook_reports_yaml_syntax_error_with_line(line_of):
    text = VALID_RUNBOOK.replace("title: Second", "title: Second: oops")

    [problem] = problems_of(text)

    assert problem.line == line_of(text, "Second: oops")
    assert problem.field == "phases[1].title"
    assert problem.message.startswith("invalid YAML: mapping values are not allowed here")
    assert str(problem) == f"rb.yaml:{problem.line}: phases[1].title: {problem.message}"


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("a: [1, 2\nb: 3\n", "a[1]"),  # an unclosed flow sequence: the item being read
        ("roles:\n  - a\n  b: c\n", "roles[0]"),  # a key where a list item was expected
        ("x:\n\t- tab\n", "x"),  # a tab where YAML allows none
        ("{: broken\n", ""),  # nothing is open yet: the file as a whole
    ],
)
def test_parse_runbook_names_the_field_a_syntax_error_sits_in(text, field):
    [problem] = problems_of(text)

    assert problem.message.startswith("invalid YAML")
    assert problem.field == field


def test_parse_runbook_locates_budget_that_ends_before_it_starts(line_of):
    text = VALID_RUNBOOK.replace("ends_at_minutes: 60", "ends_at_minutes: 10")

    [problem] = problems_of(text)

    assert (problem.line, problem.field) == (
        line_of(text, "ends_at_minutes: 10"),
        "phases[1].ends_at_minutes",
    )
    assert str(problem) == (
        f"rb.yaml:{problem.line}: phases[1].ends_at_minutes: "
        "budget ends at minute 10, not after it starts (minute 15)"
    )


def test_parse_runbook_reports_every_schema_error_at_its_field(line_of):
    text = VALID_RUNBOOK.replace("kind: validation", "kind: magic").replace(
        "audience: external", "audience: everyone\n    colour: red"
    )

    problems = problems_of(text)

    assert [(p.field, p.line) for p in problems] == [
        ("phases[1].steps[0].kind", line_of(text, "kind: magic")),
        ("communications[0].audience", line_of(text, "audience: everyone")),
        ("communications[0].colour", line_of(text, "colour: red")),
    ]
    assert "(got 'magic')" in problems[0].message


def test_parse_runbook_locates_missing_field_at_its_parent(line_of):
    text = VALID_RUNBOOK.replace("        title: Check\n", "")

    [problem] = problems_of(text)

    assert problem.field == "phases[1].steps[0].title"
    assert problem.line == line_of(text, "- id: check")
    assert problem.message == "Field required"


def test_parse_runbook_locates_shell_step_without_command(line_of):
    text = VALID_RUNBOOK.replace(
        "        command: {script: scripts/restore.sh, env: [PGHOST, PGPASSWORD]}\n", ""
    )

    [problem] = problems_of(text)

    assert problem.field == "phases[0].steps[1].command"
    assert problem.line == line_of(text, "- id: restore")
    assert problem.message == "a shell step needs a 'command'"


def test_parse_runbook_refuses_duplicate_mapping_key(line_of):
    text = VALID_RUNBOOK.replace("title: Check\n", "title: Check\n        title: Again\n")

    [problem] = problems_of(text)

    assert (problem.line, problem.field) == (
        line_of(text, "title: Again"),
        "phases[1].steps[0].title",
    )
    assert (
        problem.message == f"duplicate key 'title' (first at line {line_of(text, 'title: Check')})"
    )


def test_parse_runbook_refuses_python_tags():
    [problem] = problems_of("id: !!python/object/apply:os.system ['true']\n")

    assert problem.line == 1
    assert "could not determine a constructor" in problem.message


def test_parse_runbook_refuses_empty_file():
    assert [str(p) for p in problems_of("# nothing\n")] == ["rb.yaml:1: the file is empty"]


def test_parse_runbook_refuses_nine_levels_of_nine_aliases_quickly():
    # 9**9 values once expanded; a walk visiting every alias would never finish either.
    levels = ["a0: &a0 [x]"] + [
        f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 9)}]" for n in range(1, 10)
    ]

    [problem] = problems_of("\n".join(levels) + "\n")

    # a1..a4 add 15,678 values; the 7th alias to a4 (13,942 each) passes 100,000.
    assert (problem.field, problem.line) == ("a5[6]", 6)
    assert problem.message.startswith("YAML aliases here expand the file past 100,000 values")


def test_parse_runbook_refuses_absurd_nesting():
    assert [str(p) for p in problems_of("id: " + "[" * 5000 + "]" * 5000 + "\n")] == [
        "rb.yaml:1: invalid YAML: nested too deeply"
    ]
