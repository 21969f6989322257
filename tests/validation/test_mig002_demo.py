"""Every MIG-002 validation against the real demo target, through the validation executor.

The database checks ask the target; the login and API checks ask the demo application
serving it (APP_URL, see conftest).

(a) after a correct rollback (bad migration, restore, sequences reset) every check passes;
(b) after the bad migration every check fails, each for the damage it is about;
(c) after a restore that then loses 5 tasks, 3 password hashes and one user's permissions,
    exactly the three checks about those fail, and their evidence names the difference.
"""

from __future__ import annotations

import psycopg

from demo_target import apply_bad_migration, reset_sequences, restore_backup
from runbooks.executors.base import Execution
from tests.executors.conftest import Lines
from validation.executor import ValidationExecutor, command_for

ALL = [
    "user_accounts_exist",
    "user_profiles_correct",
    "user_permissions_preserved",
    "tasks_accessible_to_owners",
    "task_metadata_intact",
    "task_relationships_intact",
    "login_works",
    "sessions_work",
    "password_hashes_valid",
    "api_endpoints_answer",
]


def run_all(spec, target, tmp_path):
    lines = Lines()
    command = command_for(spec, [v.id for v in spec.validations], None)
    execution = Execution(run_id=1, command=command, env=target.env, workdir=tmp_path)
    outcome = ValidationExecutor().run(execution, emit=lines, should_stop=lambda: False)
    return outcome, {c["id"]: c for c in outcome.evidence["checks"]}, lines


def test_mig002_every_check_passes_after_a_correct_rollback(mig002, target, tmp_path):
    apply_bad_migration(target.dsn)
    restore_backup(target.dsn, target.backup)
    reset_sequences(target.dsn)

    outcome, checks, lines = run_all(mig002, target, tmp_path)

    assert [v.id for v in mig002.validations] == ALL
    assert {key: c["result"] for key, c in checks.items()} == dict.fromkeys(ALL, "pass"), lines
    assert outcome.succeeded and outcome.summary == "all 10 checks passed"
    assert (
        "PASS user_accounts_exist — 300 users (integer ids), as in the pre-migration backup"
        in lines
    )
    assert checks["tasks_accessible_to_owners"]["summary"] == "no tasks whose owner does not exist"
    assert checks["login_works"]["summary"].startswith("3 accounts log in and see their tasks")
    assert checks["api_endpoints_answer"]["summary"] == "HTTP 200 as expected"


def test_mig002_every_check_fails_after_the_bad_migration(mig002, target, tmp_path):
    apply_bad_migration(target.dsn)

    outcome, checks, lines = run_all(mig002, target, tmp_path)

    assert {key: c["result"] for key, c in checks.items()} == dict.fromkeys(ALL, "fail"), lines
    assert not outcome.succeeded
    summary = {key: c["summary"] for key, c in checks.items()}
    assert summary["user_accounts_exist"] == (
        "users.id: integer expected (pre-migration backup), uuid seen"
    )
    assert summary["user_profiles_correct"].startswith(
        "profiles(user_id, timezone, locale, bio): content differs"
    )
    assert summary["user_permissions_preserved"].startswith("permissions: ")
    assert "missing" in summary["user_permissions_preserved"]
    # One task in 97 lost its owner in the migration's backfill: 18 of 1800.
    assert summary["tasks_accessible_to_owners"].startswith(
        "tasks whose owner does not exist: 18 — "
    )
    assert (
        "tasks.id: integer expected (pre-migration backup), uuid seen"
        in (checks["task_metadata_intact"]["evidence"]["differences"])
    )
    assert summary["task_relationships_intact"].startswith("task_tags: ")
    # demo200's hash was cut; the application refuses that login and says why.
    assert summary["login_works"] == (
        "1 of 3 accounts cannot log in: demo200@todo.example: POST /login answered 500"
        " (the stored password hash is not a valid pbkdf2_sha256 hash)"
    )
    assert checks["login_works"]["evidence"]["seen"]["accounts_logging_in"] == 2
    # The rollout switched the migration's features on; the API says so.
    assert checks["api_endpoints_answer"]["evidence"]["differences"] == [
        "json uuid_ids: False expected, True seen",
        "json api_v1: False expected, True seen",
    ]
    assert summary["sessions_work"].startswith(
        "session problems: 1 — sessions.user_id is uuid, the application looks users up by integer id"
    )
    # Every eighth user's hash was cut to 64 characters: 37 of 300.
    assert summary["password_hashes_valid"].startswith(
        "users whose password hash is not a valid pbkdf2_sha256 hash: 37 — "
    )


def test_mig002_corrupted_restore_fails_exactly_the_right_checks(mig002, target, tmp_path):
    with psycopg.connect(target.dsn) as conn:
        # Five tasks without tags or recurrence (so only the tasks themselves are lost).
        lost = [
            row[0]
            for row in conn.execute(
                "SELECT t.id FROM tasks t WHERE t.id < 1000"
                " AND NOT EXISTS (SELECT 1 FROM task_tags tt WHERE tt.task_id = t.id)"
                " AND NOT EXISTS (SELECT 1 FROM recurrences r WHERE r.task_id = t.id)"
                " ORDER BY t.id LIMIT 5"
            )
        ]
        conn.execute("DELETE FROM tasks WHERE id = ANY(%s)", [lost])
        # Three users who are not demo accounts (their logins are not tried).
        conn.execute(
            "UPDATE users SET password_hash = left(password_hash, 40) WHERE id IN (5, 17, 42)"
        )
        permissions = conn.execute("SELECT count(*) FROM permissions WHERE user_id = 7").fetchone()
        conn.execute("DELETE FROM permissions WHERE user_id = 7")
    assert len(lost) == 5 and permissions is not None

    outcome, checks, lines = run_all(mig002, target, tmp_path)

    failed = {key for key, c in checks.items() if c["result"] != "pass"}
    assert failed == {"task_metadata_intact", "password_hashes_valid", "user_permissions_preserved"}
    assert outcome.summary == (
        "3 of 10 checks did not pass: user_permissions_preserved, task_metadata_intact,"
        " password_hashes_valid"
    )
    tasks = checks["task_metadata_intact"]["evidence"]
    assert (
        tasks["differences"][0]
        == "tasks: 1800 expected (pre-migration backup), 1795 seen — 5 missing"
    )
    assert tasks["differences"][1].startswith(
        "tasks(id, owner_id, title, status, priority, due_at, created_at, updated_at): content differs"
    )
    assert tasks["differences"][2] == (
        f"task ids missing below the highest id: {', '.join(map(str, lost))}"
    )
    hashes = checks["password_hashes_valid"]
    assert hashes["summary"] == (
        "users whose password hash is not a valid pbkdf2_sha256 hash: 3 — 5, 17, 42"
    )
    assert hashes["evidence"]["seen"]["first_rows"] == [[5, 40], [17, 40], [42, 40]]
    perms = checks["user_permissions_preserved"]["evidence"]
    total = target.before["tables"]["permissions"]
    assert perms["differences"][0] == (
        f"permissions: {total} expected (pre-migration backup), {total - permissions[0]} seen"
        f" — {permissions[0]} missing"
    )
    assert perms["differences"][-1] == "users missing a permission of their role: 7"
    assert perms["explain"]["first_rows"] == [[7, "member", ["tasks.read", "tasks.write"]]]
    assert f"FAIL password_hashes_valid — {hashes['summary']}" in lines
