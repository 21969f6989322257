"""The rollback itself: backup, bad migration, restore, reset sequences."""

from __future__ import annotations

import psycopg
import pytest

from demo.target import fingerprint_target
from demo_target import (
    TargetError,
    apply_bad_migration,
    reset_sequences,
    restore_backup,
    sequence_state,
    take_backup,
)
from tests.demo_target.conftest import TASKS, USERS


def test_restore_and_reset_give_back_the_pre_migration_database(target, tmp_path):
    before = fingerprint_target(target)
    backup = take_backup(target, tmp_path / "pre_migration.backup")
    apply_bad_migration(target)
    assert fingerprint_target(target) != before

    restore_backup(target, backup)
    next_ids = reset_sequences(target)

    assert fingerprint_target(target) == before
    assert next_ids["user_id_seq"] == USERS + 1
    assert next_ids["task_id_seq"] == TASKS + 1
    assert all(state["is_past_max"] for state in sequence_state(target).values())
    with psycopg.connect(target) as conn:
        row = conn.execute(
            "SELECT nextval('user_id_seq') > (SELECT max(id) FROM users),"
            " nextval('task_id_seq') > (SELECT max(id) FROM tasks)"
        ).fetchone()
    assert row == (True, True)


def test_reset_sequences_repairs_sequences_left_behind(target):
    with psycopg.connect(target) as conn:
        conn.execute("SELECT setval('user_id_seq', 5), setval('task_id_seq', 1, false)")
    assert not sequence_state(target)["user_id_seq"]["is_past_max"]

    reset_sequences(target)

    assert all(state["is_past_max"] for state in sequence_state(target).values())


def test_restore_is_repeatable(target, tmp_path):
    before = fingerprint_target(target)
    backup = take_backup(target, tmp_path / "pre_migration.backup")
    apply_bad_migration(target)

    restore_backup(target, backup)
    restore_backup(target, backup)  # a second run (after an interrupted step) is harmless
    reset_sequences(target)

    assert fingerprint_target(target) == before


def test_restore_backup_fails_for_a_missing_archive(target, tmp_path):
    with pytest.raises(TargetError, match="no backup"):
        restore_backup(target, tmp_path / "nope.backup")
