from __future__ import annotations

from runbooks.importers.checks import check_references
from runbooks.importers.yaml import parse_runbook
from tests.runbooks.samples import VALID_RUNBOOK


def check(text: str) -> list[tuple[int, str, str]]:
    parsed = parse_runbook(text, path="rb.yaml")
    return [(p.line, p.field, p.message) for p in check_references(parsed.spec, parsed.locator)]


def test_check_references_accepts_valid_runbook():
    assert check(VALID_RUNBOOK) == []


def test_check_references_reports_duplicate_step_id_across_phases(line_of):
    text = VALID_RUNBOOK.replace("- id: check", "- id: stop_writes")
    first = line_of(text, "title: Stop writes") - 1

    assert check(text) == [
        (
            line_of(text, "title: Check") - 1,
            "phases[1].steps[0].id",
            f"duplicate id 'stop_writes' in steps (first at line {first})",
        )
    ]


def test_check_references_reports_duplicate_ids_in_every_collection(line_of):
    text = VALID_RUNBOOK + (
        "post_actions:\n"
        "  - {id: fix, title: Fix, owner: dba}\n"
        "  - {id: fix, title: Fix again, owner: dba}\n"
    )

    assert check(text) == [
        (
            line_of(text, "Fix again"),
            "post_actions[1].id",
            f"duplicate id 'fix' in post_actions (first at line {line_of(text, 'title: Fix,')})",
        )
    ]


def test_check_references_reports_every_unknown_role(line_of):
    text = (
        VALID_RUNBOOK.replace("approval: incident_commander", "approval: ceo")
        .replace("signoff: dba", "signoff: pm")
        .replace("owner: incident_commander", "owner: press")
    )

    problems = check(text)

    assert [(line, field) for line, field, _ in problems] == [
        (line_of(text, "approval: ceo"), "phases[0].steps[1].approval"),
        (line_of(text, "signoff: pm"), "success_criteria[0].signoff"),
        (line_of(text, "owner: press"), "communications[0].owner"),
    ]
    assert problems[0][2] == "unknown role 'ceo' (roles: dba, incident_commander)"


def test_check_references_reports_requires_cycle_path(line_of):
    text = VALID_RUNBOOK.replace(
        "title: Stop writes\n", "title: Stop writes\n        requires: [restore]\n"
    )

    assert check(text) == [
        (
            line_of(text, "requires: [stop_writes]"),
            "phases[0].steps[1].requires[0]",
            "requires cycle: stop_writes -> restore -> stop_writes",
        )
    ]


def test_check_references_reports_self_requirement_as_cycle():
    text = VALID_RUNBOOK.replace("requires: [stop_writes]", "requires: [restore]")

    assert [message for _, _, message in check(text)] == ["requires cycle: restore -> restore"]


def test_check_references_reports_unknown_and_later_phase_requirements(line_of):
    text = VALID_RUNBOOK.replace("requires: [stop_writes]", "requires: [check, nowhere]")

    assert check(text) == [
        (line_of(text, "[check, nowhere]"), "phases[0].steps[1].requires[0]", "requires step 'check' of a later phase ('second')"),
        (line_of(text, "[check, nowhere]"), "phases[0].steps[1].requires[1]", "unknown step 'nowhere'"),
        (line_of(text, "requires: [restore]"), "phases[1].steps[0].requires[0]", "requires cycle: restore -> check -> restore"),
    ]  # fmt: skip


def test_check_references_reports_unknown_validations_and_phases(line_of):
    text = (
        VALID_RUNBOOK.replace("validations: [users_exist]\n        requires", "validations: [ghost]\n        requires")
        .replace("phases: [first]", "phases: [first, third]")
    )  # fmt: skip

    assert check(text) == [
        (line_of(text, "[ghost]"), "phases[1].steps[0].validations[0]", "unknown validation 'ghost'"),
        (line_of(text, "[first, third]"), "communications[0].phases[1]", "unknown phase 'third'"),
    ]  # fmt: skip


def test_check_references_reports_phase_starting_before_previous(line_of):
    text = VALID_RUNBOOK.replace("starts_at_minutes: 0", "starts_at_minutes: 5").replace(
        "starts_at_minutes: 15", "starts_at_minutes: 0"
    )

    assert check(text) == [
        (
            line_of(text, "starts_at_minutes: 0"),
            "phases[1].starts_at_minutes",
            "phase starts at minute 0, before the previous phase 'first' (minute 5)",
        )
    ]


def test_check_references_allows_phases_starting_together():
    assert check(VALID_RUNBOOK.replace("starts_at_minutes: 15", "starts_at_minutes: 0")) == []


def test_check_references_reports_variable_missing_from_an_environment(line_of):
    text = VALID_RUNBOOK.replace("env: [PGHOST, PGPASSWORD]", "env: [PGHOST, PGPORT]")

    assert check(text) == [
        (line_of(text, "PGPORT"), "phases[0].steps[1].command.env[1]", "variable 'PGPORT' is not defined in environment(s) staging"),
    ]  # fmt: skip


def test_check_references_reports_all_problems_in_file_order(line_of):
    text = (
        VALID_RUNBOOK.replace("owner: incident_commander", "owner: press")
        .replace("title: Check\n        owner: dba", "title: Check\n        owner: nobody")
        .replace("- id: check", "- id: restore")
        .replace("requires: [stop_writes]", "requires: [stop_writes, ghost]")
    )

    assert [field for _, field, _ in check(text)] == [
        "phases[0].steps[1].requires[1]",
        "phases[1].steps[0].id",
        "phases[1].steps[0].owner",
        "communications[0].owner",
    ]


def test_check_reports_a_command_its_executor_refuses(tmp_path):
    from runbooks.importers.checks import check_references
    from runbooks.importers.yaml import parse_runbook

    source = """\
id: broken-command
title: Broken command
roles: [{id: ops, title: Ops}]
environments: [{id: demo, title: Demo}]
phases:
  - id: p
    title: P
    starts_at_minutes: 0
    ends_at_minutes: 10
    steps:
      - id: bad-docker
        title: Run on the bridge
        owner: ops
        kind: docker
        command: {action: run, image: busybox, network: bridge}
      - id: bad-shell
        title: Shell string
        owner: ops
        kind: shell
        command: {argv: "rm -rf /"}
"""
    parsed = parse_runbook(source, path="rb.yaml")
    problems = [str(p) for p in check_references(parsed.spec, parsed.locator)]
    assert any(
        p.startswith("rb.yaml:15: phases[0].steps[0].command:") and "never a bridge" in p
        for p in problems
    ), problems
    assert any(
        p.startswith("rb.yaml:20: phases[0].steps[1].command:") and "list of strings" in p
        for p in problems
    ), problems
