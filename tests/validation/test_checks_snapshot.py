"""The snapshot family: counts, checksums and id types against the backup or the incident snapshot."""

from __future__ import annotations

import psycopg
import pytest

from demo_target import CHECKSUM_COLUMNS
from demo_target.environment import TargetSettings
from runbooks.checks import CheckContext, run_check, validate_check
from validation.checks.snapshot import backup_fingerprint_path
from validation.fingerprint import fingerprint

TASK_COLUMNS = list(CHECKSUM_COLUMNS["tasks"])  # what the backup's fingerprint covers


def fresh() -> CheckContext:
    """A context per check, as a run has: its memo must not outlive the run."""
    return CheckContext(timeout_seconds=10)


def snapshot(target, context=None, **params):
    return run_check("snapshot", {"baseline": "backup", **params}, target.env, context or fresh())


def execute(target, statement):
    with psycopg.connect(target.dsn) as conn:
        conn.execute(statement)


def test_snapshot_fingerprint_path_is_where_demo_target_create_writes_it(tmp_path):
    backup = tmp_path / "pre_migration.backup"
    settings = TargetSettings(dsn="dbname=x", admin_dsn="dbname=postgres", backup_file=backup)
    assert backup_fingerprint_path(backup) == settings.snapshot_file


def test_snapshot_passes_on_a_restored_target(target):
    outcome = snapshot(target, counts=["users"], id_types=["users"])
    assert (outcome.result, outcome.summary) == (
        "pass",
        "300 users (integer ids), as in the pre-migration backup",
    )
    assert outcome.evidence["expected"] == {
        "tables": {"users": 300},
        "id_types": {"users": "integer"},
    }
    assert outcome.evidence["seen"] == outcome.evidence["expected"]


def test_snapshot_count_difference_says_how_many_are_missing(target):
    execute(target, "DELETE FROM task_tags WHERE task_id <= 20")
    outcome = snapshot(
        target, counts=["tasks", "task_tags"], checksums={"task_tags": ["task_id", "tag_id"]}
    )
    assert outcome.result == "fail"
    missing = target.before["tables"]["task_tags"] - outcome.evidence["seen"]["tables"]["task_tags"]
    assert missing > 0
    total = target.before["tables"]["task_tags"]
    assert outcome.evidence["differences"] == [
        f"task_tags: {total} expected (pre-migration backup), {total - missing} seen — {missing} missing",
        "task_tags(task_id, tag_id): content differs from the pre-migration backup"
        + outcome.evidence["differences"][1].split("backup", 1)[1],
    ]
    assert outcome.evidence["checksum_columns"] == {"task_tags": ["task_id", "tag_id"]}


def test_snapshot_checksum_catches_a_changed_value_with_equal_counts(target):
    execute(target, "UPDATE tasks SET priority = 5 - priority WHERE id = 3")
    outcome = snapshot(target, counts=["tasks"], checksums={"tasks": TASK_COLUMNS})
    assert outcome.result == "fail"
    [difference] = outcome.evidence["differences"]
    assert difference.startswith(
        "tasks(id, owner_id, title, status, priority, due_at, created_at, updated_at): content differs"
    )


def test_snapshot_explain_names_the_rows_when_something_differs(target):
    explain = {
        "label": "users without tasks.read",
        "query": "SELECT u.id FROM users u WHERE NOT EXISTS (SELECT 1 FROM permissions p"
        " WHERE p.user_id = u.id AND p.permission = 'tasks.read') ORDER BY u.id",
    }
    assert snapshot(target, counts=["permissions"], explain=explain).result == "pass"
    execute(target, "DELETE FROM permissions WHERE user_id IN (7, 11)")
    outcome = snapshot(target, counts=["permissions"], explain=explain)
    assert outcome.result == "fail"
    assert outcome.evidence["explain"]["count"] == 2
    assert outcome.evidence["explain"]["first_rows"] == [[7], [11]]
    assert outcome.evidence["differences"][-1] == "users without tasks.read: 7, 11"
    assert outcome.summary.endswith("; users without tasks.read: 7, 11")
    # An explain query that fails costs its rows, not the verdict.
    broken = snapshot(target, counts=["permissions"], explain={**explain, "query": "SELECT nope"})
    assert broken.result == "fail" and "nope" in broken.evidence["explain"]["error"]


def test_snapshot_against_incident_snapshot_uses_the_context(target):
    taken = {
        "tables": {"users": 301},
        "checksums": {},
        "id_types": {"users": "integer"},
    }
    outcome = run_check(
        "snapshot",
        {"baseline": "incident_snapshot", "counts": ["users"]},
        target.env,
        CheckContext(snapshot=taken),
    )
    assert outcome.result == "fail"
    assert outcome.summary == "users: 301 expected (incident-start snapshot), 300 seen — 1 missing"
    none = run_check(
        "snapshot", {"baseline": "incident_snapshot", "counts": ["users"]}, target.env, fresh()
    )
    assert (none.result, none.summary) == (
        "error",
        "no snapshot of the target was taken when the incident opened",
    )


def test_snapshot_without_backup_fingerprint_is_an_error(target, tmp_path):
    env = {**target.env, "BACKUP_FILE": str(tmp_path / "other.backup")}
    outcome = run_check("snapshot", {"baseline": "backup", "counts": ["users"]}, env, fresh())
    assert outcome.result == "error"
    assert (
        outcome.summary
        == f"no fingerprint beside the backup: {tmp_path / 'other.fingerprint.json'} does not exist"
    )


def test_snapshot_takes_each_fingerprint_once_per_run(target, monkeypatch):
    from validation.checks import snapshot as family

    calls: list[str] = []

    def counted(dsn: str, **asked):
        calls.append(dsn)
        return fingerprint(dsn, **asked)

    monkeypatch.setattr(family, "fingerprint", counted)
    context = CheckContext()
    assert snapshot(target, context, counts=["users"]).result == "pass"
    assert snapshot(target, context, counts=["users"]).result == "pass"
    assert len(calls) == 1
    assert snapshot(target, context, checksums={"tasks": TASK_COLUMNS}).result == "pass"
    assert len(calls) == 2  # another question, another fingerprint: only what each check names


def test_snapshot_checksums_the_columns_its_params_name(target):
    taken = fingerprint(target.dsn, checksums={"tasks": ["id", "title"]}, id_tables=[])
    params = {"baseline": "incident_snapshot", "checksums": {"tasks": ["id", "title"]}}

    def check():
        return run_check("snapshot", params, target.env, CheckContext(snapshot=taken))

    execute(target, "UPDATE tasks SET priority = 5 - priority WHERE id = 3")
    passed = check()
    assert (passed.result, passed.summary) == (
        "pass",
        "tasks (same content), as in the incident-start snapshot",
    )
    assert passed.evidence["checksum_columns"] == {"tasks": ["id", "title"]}
    execute(target, "UPDATE tasks SET title = title || '!' WHERE id = 3")
    failed = check()
    assert failed.result == "fail"
    assert failed.summary.startswith("tasks(id, title): content differs")


def test_snapshot_refuses_a_baseline_checksummed_over_other_columns(target):
    outcome = snapshot(target, checksums={"tasks": ["id", "title"]})
    assert (outcome.result, outcome.summary) == (
        "error",
        "the pre-migration backup took the checksum of tasks over"
        f" ({', '.join(TASK_COLUMNS)}), this check names (id, title): they cannot be compared",
    )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"counts": ["users"]}, "'baseline' must be one of backup, incident_snapshot"),
        ({"baseline": "backup"}, "name tables in 'counts', 'checksums' or 'id_types'"),
        ({"baseline": "backup", "counts": "users"}, "'counts' must be a list of table names"),
        ({"baseline": "backup", "checksums": ["tasks"]}, "'checksums' must map each table"),
        ({"baseline": "backup", "checksums": {"tasks": []}}, "'checksums' must map each table"),
        ({"baseline": "backup", "id_types": "users"}, "'id_types' must be a list of table names"),
        (
            {"baseline": "backup", "counts": ["users"], "explain": {"query": "x"}},
            "'explain' must give",
        ),
    ],
)
def test_snapshot_validate_names_each_bad_param(params, problem):
    assert any(problem in p for p in validate_check("snapshot", params))
