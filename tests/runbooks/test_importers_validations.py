"""Validation checks' params are checked by their family when a runbook loads, with locations."""

from __future__ import annotations

from runbooks.importers.checks import check_references
from runbooks.importers.yaml import parse_runbook
from tests.runbooks.samples import VALID_RUNBOOK

USERS_EXIST = """\
  - id: users_exist
    family: user_data
    title: Users exist
"""


def check(text: str) -> list[tuple[int, str, str]]:
    parsed = parse_runbook(text, path="rb.yaml")
    return [(p.line, p.field, p.message) for p in check_references(parsed.spec, parsed.locator)]


def with_check(check: str) -> str:
    assert USERS_EXIST in VALID_RUNBOOK
    return VALID_RUNBOOK.replace(USERS_EXIST, USERS_EXIST + check)


def test_validation_params_accepted_when_the_family_accepts_them():
    text = with_check("    check: {kind: snapshot, params: {baseline: backup, counts: [users]}}\n")
    assert check(text) == []


def test_validation_params_refused_with_their_location(line_of):
    text = with_check(
        "    check:\n"
        "      kind: sql\n"
        "      params:\n"
        "        query: SELECT 1\n"
        "        expect: {equals_snapshot: users_count}\n"
    )
    assert check(text) == [
        (
            line_of(text, "params:"),
            "validations[0].check.params",
            "sql: 'expect' must give one or more of equals, no_rows, rows, scalar",
        )
    ]


def test_validation_check_of_a_kind_without_family_is_refused(line_of):
    text = with_check("    check: {kind: nosuch, params: {file_variable: BACKUP_FILE}}\n")
    [(line, field, message)] = check(text)
    assert (line, field) == (line_of(text, "kind: nosuch"), "validations[0].check.kind")
    assert message.startswith("no check family runs 'nosuch' checks")


def test_safeguard_check_of_a_kind_without_family_is_refused(line_of):
    text = VALID_RUNBOOK + (
        "safeguards:\n"
        "  - id: backup_taken\n"
        "    category: backups\n"
        "    title: Backup taken\n"
        "    check: {kind: backupp, params: {file_variable: BACKUP_FILE}}\n"
    )
    [(line, field, message)] = check(text)
    assert (line, field) == (line_of(text, "kind: backupp"), "safeguards[0].check.kind")
    assert message.startswith("no check family runs 'backupp' checks")


def test_safeguard_params_are_checked_by_their_family(line_of):
    text = VALID_RUNBOOK + (
        "safeguards:\n"
        "  - id: backup_taken\n"
        "    category: backups\n"
        "    title: Backup taken\n"
        "    check: {kind: backup, params: {file_variable: BACKUP_FILE, max_age_hours: -1}}\n"
    )
    [(line, field, message)] = check(text)
    assert (line, field) == (line_of(text, "max_age_hours"), "safeguards[0].check.params")
    assert message == "backup: 'max_age_hours' must be a positive number"


def test_a_safeguard_may_use_a_validation_family():
    text = VALID_RUNBOOK + (
        "safeguards:\n"
        "  - id: backup_taken\n"
        "    category: backups\n"
        "    title: Backup taken\n"
        "    check: {kind: backup, params: {file_variable: BACKUP_FILE}}\n"
        "  - id: db_up\n"
        "    category: backups\n"
        "    title: Database answers\n"
        "    check: {kind: sql, params: {query: SELECT 1}}\n"
    )
    [(_, field, message)] = check(text)
    assert field == "safeguards[1].check.params"
    assert message.startswith("sql: 'expect' must give")
