"""A runbook's ``snapshot:``: what the incident snapshot records, checked where it is written."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from runbooks.importers.problems import RunbookError
from runbooks.importers.yaml import parse_runbook
from tests.runbooks.samples import VALID_RUNBOOK

PHASES = "phases:\n"


def with_snapshot(snapshot: str) -> str:
    return VALID_RUNBOOK.replace(PHASES, f"snapshot:\n{snapshot}{PHASES}", 1)


def test_snapshot_declares_checksum_columns_and_id_types():
    text = with_snapshot("  checksums:\n    users: [id, email]\n  id_types: [users]\n")

    snapshot = parse_runbook(text, path="rb.yaml").spec.snapshot

    assert snapshot.checksums == {"users": ["id", "email"]}
    assert snapshot.id_types == ["users"]


def test_snapshot_left_out_records_row_counts_only():
    snapshot = parse_runbook(VALID_RUNBOOK, path="rb.yaml").spec.snapshot
    assert (snapshot.checksums, snapshot.id_types) == ({}, [])


@pytest.mark.parametrize(
    ("snapshot", "marker", "field", "message"),
    [
        (
            "  checksums:\n    users: []\n",
            "users: []",
            "snapshot.checksums.users",
            "List should have at least 1 item",
        ),
        (
            "  checksums:\n    users: [id, e-mail]\n",
            "users: [id, e-mail]",
            "snapshot.checksums.users[1]",
            "String should match pattern",
        ),
        ("  id_types: [users, 'drop table']\n", "id_types:", "snapshot.id_types[1]", "pattern"),
        ("  columns: {users: [id]}\n", "columns:", "snapshot.columns", "Extra inputs"),
    ],
)
def test_snapshot_problem_is_located_at_its_field(line_of, snapshot, marker, field, message):
    text = with_snapshot(snapshot)
    with pytest.raises(RunbookError) as caught:
        parse_runbook(text, path="rb.yaml")
    [problem] = caught.value.problems
    assert (problem.field, problem.line) == (field, line_of(text, marker))
    assert message in problem.message


def test_check_runbook_reports_a_bad_snapshot_at_its_line(write_runbook, line_of):
    text = with_snapshot("  checksums:\n    users: []\n")
    path = write_runbook(text)
    err = StringIO()

    with pytest.raises(CommandError):
        call_command("check_runbook", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue().startswith(
        f"{path}:{line_of(text, 'users: []')}: snapshot.checksums.users: List should have"
    )
