"""The sql family against a real todo database: expectations, evidence, errors, read-only."""

from __future__ import annotations

import psycopg
import pytest

from runbooks.checks import CheckContext, run_check, validate_check


def fresh() -> CheckContext:
    """A context per check, as a run has: its memo must not outlive the run."""
    return CheckContext(timeout_seconds=10)


def sql(target, **params):
    return run_check("sql", params, target.env, fresh())


def test_sql_no_rows_passes_and_says_what_it_looked_for(target):
    outcome = sql(
        target,
        query="SELECT id FROM tasks WHERE owner_id NOT IN (SELECT id FROM users)",
        expect={"no_rows": True},
        describe="orphaned tasks",
    )
    assert (outcome.result, outcome.summary) == ("pass", "no orphaned tasks")
    assert outcome.evidence["ran"].startswith("SELECT id FROM tasks")
    assert outcome.evidence["expected"] == {"no_rows": True}
    assert outcome.evidence["seen"]["rows"] == 0 and outcome.evidence["differences"] == []


def test_sql_no_rows_failure_names_count_and_first_ids(target):
    outcome = sql(
        target,
        query="SELECT id, email FROM users WHERE mod(id, 50) = 0 ORDER BY id",
        expect={"no_rows": True},
        describe="users on a round id",
    )
    assert outcome.result == "fail"
    assert outcome.summary == "users on a round id: 6 — 50, 100, 150, 200, 250, … (6 in all)"
    assert outcome.evidence["seen"]["columns"] == ["id", "email"]
    assert [row[0] for row in outcome.evidence["seen"]["first_rows"]] == [
        50,
        100,
        150,
        200,
        250,
        300,
    ]
    assert outcome.evidence["differences"] == ["6 users on a round id found, none expected"]


def test_sql_rows_scalar_and_equals_compare_values(target):
    assert sql(target, query="SELECT id FROM users", expect={"rows": 300}).result == "pass"
    short = sql(target, query="SELECT id FROM users WHERE id > 5", expect={"rows": 300})
    assert short.result == "fail"
    assert short.evidence["differences"] == ["300 rows expected, 295 seen — 5 missing"]
    scalar = sql(target, query="SELECT count(*) FROM tasks", expect={"scalar": 1800})
    assert (scalar.result, scalar.summary) == ("pass", "1800, as expected")
    # A string expectation compares with the value's text (a timestamp here).
    when = sql(
        target,
        query="SELECT min(created_at) AT TIME ZONE 'UTC' FROM users WHERE id = %(id)s",
        params={"id": 1},
        expect={"scalar": "nope"},
    )
    assert when.result == "fail" and "'nope' expected" in when.summary
    rows = sql(
        target,
        query="SELECT id, role FROM users WHERE id IN (1, 2) ORDER BY id",
        expect={"equals": [[1, "admin"], [2, "admin"]]},
    )
    assert rows.result == "fail"
    assert rows.evidence["differences"] == ["row 2: [2, 'admin'] expected, [2, 'member'] seen"]


def test_sql_params_are_bound_not_formatted(target):
    hostile = "x'); DELETE FROM users; --"
    outcome = sql(
        target,
        query="SELECT id FROM users WHERE email = %(email)s",
        params={"email": hostile},
        expect={"no_rows": True},
    )
    assert outcome.result == "pass"
    assert outcome.evidence["params"] == {"email": hostile}


def test_sql_runs_read_only(target):
    outcome = sql(target, query="DELETE FROM tasks RETURNING id", expect={"no_rows": True})
    assert outcome.result == "error"
    assert "read-only transaction" in outcome.summary
    with psycopg.connect(target.dsn) as conn:
        assert conn.execute("SELECT count(*) FROM tasks").fetchone() == (1800,)


def test_sql_query_error_and_timeout_are_errors_with_the_query(target):
    broken = sql(target, query="SELECT * FROM no_such_table", expect={"no_rows": True})
    assert broken.result == "error" and "no_such_table" in broken.summary
    assert broken.evidence["ran"] == "SELECT * FROM no_such_table"
    slow = run_check(
        "sql",
        {"query": "SELECT pg_sleep(5)", "expect": {"no_rows": True}},
        target.env,
        CheckContext(timeout_seconds=0.5),
    )
    assert slow.result == "error" and "did not finish" in slow.summary


def test_sql_unreachable_database_is_an_error_without_the_password():
    env = {"TARGET_DATABASE_URL": "postgres://u:hunter2@127.0.0.1:1/nothing"}
    outcome = run_check("sql", {"query": "SELECT 1", "expect": {"rows": 1}}, env, fresh())
    assert outcome.result == "error" and "cannot connect" in outcome.summary
    assert "hunter2" not in str(outcome)


def test_sql_missing_connection_variable_is_an_error():
    outcome = run_check(
        "sql",
        {"query": "SELECT 1", "expect": {"rows": 1}, "database_env": "ELSEWHERE"},
        {},
        fresh(),
    )
    assert (outcome.result, outcome.summary) == (
        "error",
        "the variable ELSEWHERE holding the connection is not set",
    )


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"expect": {"no_rows": True}}, "'query' is required"),
        ({"query": "SELECT 1"}, "'expect' must give one or more of"),
        ({"query": "SELECT 1", "expect": {"count": 1}}, "'expect' must give one or more of"),
        ({"query": "SELECT 1", "expect": {"no_rows": False}}, "'expect.no_rows' must be true"),
        ({"query": "SELECT 1", "expect": {"rows": -1}}, "'expect.rows' must be a whole number"),
        ({"query": "SELECT 1", "expect": {"equals": [1]}}, "list of rows"),
        ({"query": "SELECT 1", "expect": {"rows": 1}, "colour": "red"}, "unknown key 'colour'"),
    ],
)
def test_sql_validate_names_each_bad_param(params, problem):
    problems = validate_check("sql", params)
    assert any(problem in p for p in problems), problems
    outcome = run_check("sql", params, {}, fresh())
    assert outcome.result == "error" and problem in outcome.summary
