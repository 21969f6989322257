from __future__ import annotations

import psycopg
import pytest

from demo.target import fingerprint_target
from demo_target import (
    TargetError,
    apply_bad_migration,
    create_target,
    drop_target,
    reset_sequences,
    sequence_state,
    take_backup,
    verify_backup,
)
from demo_target.pg import with_dbname
from demo_target.schema import TABLES
from tests.demo_target.conftest import ADMIN_DSN, TASKS, USERS
from validation.fingerprint import diff_fingerprints


def test_create_target_builds_every_table_with_integer_ids(target):
    fp = fingerprint_target(target)

    assert sorted(fp["tables"]) == sorted(TABLES)
    assert fp["tables"]["users"] == USERS
    assert fp["tables"]["profiles"] == USERS
    assert fp["tables"]["tasks"] == TASKS
    assert all(fp["tables"][table] > 0 for table in TABLES)
    assert fp["id_types"] == {"users": "integer", "tasks": "integer"}
    assert all(fp["checksums"].values())


def test_create_target_is_deterministic_for_a_seed(new_db_name):
    first = create_target(ADMIN_DSN, new_db_name(), users=USERS, tasks=TASKS, seed=7)
    second = create_target(ADMIN_DSN, new_db_name(), users=USERS, tasks=TASKS, seed=7)
    other_seed = create_target(ADMIN_DSN, new_db_name(), users=USERS, tasks=TASKS, seed=8)

    assert fingerprint_target(first) == fingerprint_target(second)
    assert fingerprint_target(first)["checksums"] != fingerprint_target(other_seed)["checksums"]


def test_create_target_leaves_sequences_past_the_max_ids(target):
    for state in sequence_state(target).values():
        assert state["exists"]
        assert state["is_past_max"]
        assert state["max_id"] is not None
        assert state["next_value"] == state["max_id"] + 1


def test_bad_migration_switches_to_uuids_and_damages_rows(target):
    before = fingerprint_target(target)

    apply_bad_migration(target)

    after = fingerprint_target(target)
    assert after["id_types"] == {"users": "uuid", "tasks": "uuid"}
    # Same people and tasks, but lost tags, recurrences, sessions and permissions.
    assert after["tables"]["users"] == before["tables"]["users"]
    assert after["tables"]["tasks"] == before["tables"]["tasks"]
    for table in ("task_tags", "recurrences", "sessions", "permissions"):
        assert after["tables"][table] < before["tables"][table], table
    assert after["checksums"]["tags"] == before["checksums"]["tags"]  # tags were not migrated
    for table in ("users", "tasks", "profiles", "task_tags", "recurrences"):
        assert after["checksums"][table] != before["checksums"][table], table
    # The rollout's flags are on: the fingerprint shows it, so a restore must undo it too.
    assert after["tables"]["feature_flags"] == before["tables"]["feature_flags"] == 2
    assert "checksums.feature_flags" in " ".join(diff_fingerprints(before, after))
    assert "id_types.users: integer -> uuid" in diff_fingerprints(before, after)
    states = sequence_state(target)
    assert not states["user_id_seq"]["exists"]
    assert not states["task_id_seq"]["exists"]


def test_bad_migration_orphans_tasks_and_truncates_hashes(target):
    apply_bad_migration(target)

    with psycopg.connect(target) as conn:
        orphans = conn.execute("SELECT count(*) FROM tasks WHERE owner_id IS NULL").fetchone()
        short = conn.execute(
            "SELECT count(*) FROM users WHERE length(password_hash) = 64"
        ).fetchone()
    assert orphans == (TASKS // 97,)
    assert short == (USERS // 8,)


def test_reset_sequences_refuses_while_ids_are_uuids(target):
    apply_bad_migration(target)

    with pytest.raises(TargetError, match="restore the backup first"):
        reset_sequences(target)


def test_take_backup_writes_a_verifiable_archive(target, tmp_path):
    path = take_backup(target, tmp_path / "nested" / "pre_migration.backup")

    assert path.is_file()
    assert verify_backup(path) == len(TABLES)
    assert not list(path.parent.glob("*.partial"))


def test_take_backup_fails_clearly_and_leaves_no_file(tmp_path):
    path = tmp_path / "missing.backup"

    with pytest.raises(TargetError, match="pg_dump failed"):
        take_backup(with_dbname(ADMIN_DSN, "todo_does_not_exist_zz"), path)

    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("name", ["postgres", "template1"])
def test_drop_target_refuses_to_drop_system_databases(name):
    with pytest.raises(TargetError, match="refusing to drop"):
        drop_target(ADMIN_DSN, name)
