"""SQL executor against real PostgreSQL, in a scratch database created for this module."""

from __future__ import annotations

import time

import psycopg
import pytest

from runbooks.executors import ExecutorError, StepCancelled, StepTimedOut, TransientExecutorError
from runbooks.executors.sql import SqlExecutor
from tests.executors.conftest import Lines, closed_port, never

SERVER = "postgres://postgres@127.0.0.1:5432"
SCRATCH = "ripcord_exec_test"
executor = SqlExecutor()


@pytest.fixture(scope="module")
def database_url():
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {SCRATCH}")
    yield f"{SERVER}/{SCRATCH}"
    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {SCRATCH} WITH (FORCE)")


@pytest.fixture
def db(database_url):
    """A fresh table t(id, name) with three rows; yields an autocommit connection to look."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS t")
        conn.execute("CREATE TABLE t (id int PRIMARY KEY, name text NOT NULL)")
        conn.execute("INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')")
        yield conn


@pytest.fixture
def sql_run(make_execution, database_url):
    def run(command, should_stop=never, **overrides):
        overrides.setdefault("env", {"TARGET_DATABASE_URL": database_url})
        lines = Lines()
        outcome = executor.run(
            make_execution(command, **overrides), emit=lines, should_stop=should_stop
        )
        return outcome, lines

    return run


def test_sql_rows_expectation_counts_rows_returned(db, sql_run):
    outcome, lines = sql_run(
        {
            "query": "SELECT id, name FROM t WHERE id > %(min)s ORDER BY id",
            "params": {"min": 1},
            "expect": {"rows": 2},
        }
    )
    assert outcome.succeeded
    assert lines[:3] == ["id\tname", "2\tb", "3\tc"]
    assert outcome.evidence["seen"]["first_rows"] == [[2, "b"], [3, "c"]]
    assert outcome.evidence["checks"] == [{"check": "rows", "expected": 2, "seen": 2, "ok": True}]


def test_sql_scalar_expectation(db, sql_run):
    ok, _ = sql_run({"query": "SELECT count(*) FROM t", "expect": {"scalar": 3}})
    wrong, lines = sql_run({"query": "SELECT count(*) FROM t", "expect": {"scalar": 4}})
    assert ok.succeeded
    assert not wrong.succeeded
    assert wrong.summary.startswith("expected scalar 4, saw 3")
    assert "[ripcord] expect scalar 4: saw 3, FAILED" in lines


def test_sql_equals_expectation_compares_every_row(db, sql_run):
    query = "SELECT id, name FROM t ORDER BY id"
    ok, _ = sql_run({"query": query, "expect": {"equals": [[1, "a"], [2, "b"], [3, "c"]]}})
    short, _ = sql_run({"query": query, "expect": {"equals": [[1, "a"], [2, "b"]]}})
    differs, _ = sql_run({"query": query, "expect": {"equals": [[1, "a"], [2, "x"], [3, "c"]]}})
    assert ok.succeeded
    assert not short.succeeded
    assert not differs.succeeded
    assert "row 2 differs" in differs.summary


def test_sql_compares_non_json_values_by_text(db, sql_run):
    outcome, _ = sql_run(
        {
            "query": "SELECT DATE '2024-05-01', 1.50::numeric",
            "expect": {"equals": [["2024-05-01", 1.5]]},
        }
    )
    assert outcome.succeeded, outcome.summary


def test_sql_min_rows_failure_keeps_what_was_seen(db, sql_run):
    outcome, _ = sql_run({"query": "SELECT * FROM t WHERE id > 5", "expect": {"min_rows": 1}})
    assert not outcome.succeeded
    assert outcome.evidence["seen"]["rows"] == 0
    assert outcome.evidence["expect"] == {"min_rows": 1}


def test_sql_without_expectation_passes_when_it_runs(db, sql_run):
    outcome, lines = sql_run({"query": "UPDATE t SET name = upper(name)"})
    assert outcome.succeeded
    assert lines == ["(3 rows)"]
    assert db.execute("SELECT string_agg(name, '' ORDER BY id) FROM t").fetchone() == ("ABC",)


def test_sql_binds_hostile_parameters_as_data(db, sql_run):
    hostile = "x'); DROP TABLE t; --"
    outcome, _ = sql_run(
        {
            "query": "INSERT INTO t (id, name) VALUES (%(id)s, %(name)s)",
            "params": {"id": 4, "name": hostile},
            "expect": {"rows": 1},
        }
    )
    assert outcome.succeeded
    assert db.execute("SELECT name FROM t WHERE id = 4").fetchone() == (hostile,)
    assert db.execute("SELECT count(*) FROM t").fetchone() == (4,)


def test_sql_rolls_back_a_write_whose_expectation_fails(db, sql_run):
    outcome, _ = sql_run({"query": "UPDATE t SET name = 'zzz'", "expect": {"rows": 1}})
    assert not outcome.succeeded
    assert outcome.summary == "expected rows 1, saw 3 (rolled back)"
    assert outcome.evidence["committed"] is False
    assert db.execute("SELECT count(*) FROM t WHERE name = 'zzz'").fetchone() == (0,)


def test_sql_statement_error_is_a_failed_outcome(db, sql_run):
    outcome, lines = sql_run({"query": "INSERT INTO t VALUES (1, 'dup')"})
    assert not outcome.succeeded
    assert "duplicate key" in outcome.summary
    assert lines[0].startswith("ERROR:")


def test_sql_emits_at_most_fifty_rows(db, sql_run):
    outcome, lines = sql_run(
        {"query": "SELECT generate_series(1, 500) AS n", "expect": {"rows": 500}}
    )
    assert outcome.succeeded
    assert lines[1:51] == [str(n) for n in range(1, 51)]
    assert lines[51] == "[ripcord] … 450 more row(s)"
    assert len(outcome.evidence["seen"]["first_rows"]) == 50


def _active_sleeps(conn) -> int:
    row = conn.execute(
        "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND state = 'active' AND query LIKE 'SELECT pg_sleep(30)%%'",
        [SCRATCH],
    ).fetchone()
    return int(row[0])


def test_sql_cancel_stops_a_running_query_within_seconds(db, sql_run):
    def sleeping_query_seen() -> bool:  # cancel once the server really runs it
        return _active_sleeps(db) > 0

    started = time.monotonic()
    with pytest.raises(StepCancelled):
        sql_run({"query": "SELECT pg_sleep(30)"}, should_stop=sleeping_query_seen)
    assert time.monotonic() - started < 10
    assert _active_sleeps(db) == 0


def test_sql_timeout_stops_a_running_query(db, sql_run):
    started = time.monotonic()
    with pytest.raises(StepTimedOut):
        sql_run({"query": "SELECT pg_sleep(30)"}, timeout_seconds=1)
    assert time.monotonic() - started < 10
    assert _active_sleeps(db) == 0


def test_sql_cancel_rolls_back_the_write_in_flight(db, sql_run):
    query = "UPDATE t SET name = 'cancelled' WHERE pg_sleep(30) IS NOT NULL"

    def stop_when_running() -> bool:
        active = "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'UPDATE t SET%%'"
        return bool(db.execute(active, [SCRATCH]).fetchone()[0])

    with pytest.raises(StepCancelled):
        sql_run({"query": query}, should_stop=stop_when_running)
    assert db.execute("SELECT count(*) FROM t WHERE name = 'cancelled'").fetchone() == (0,)


def test_sql_needs_the_connection_variable(db, sql_run):
    with pytest.raises(ExecutorError, match="TARGET_DATABASE_URL"):
        sql_run({"query": "SELECT 1"}, env={})


def test_sql_reads_the_connection_from_the_named_variable(db, sql_run, database_url):
    outcome, _ = sql_run(
        {"query": "SELECT 1", "database_env": "REPORTING_DB", "expect": {"scalar": 1}},
        env={"REPORTING_DB": database_url},
    )
    assert outcome.succeeded


def test_sql_unreachable_database_is_transient(sql_run):
    url = f"postgres://postgres@127.0.0.1:{closed_port()}/x"
    with pytest.raises(TransientExecutorError, match="cannot connect"):
        sql_run({"query": "SELECT 1"}, env={"TARGET_DATABASE_URL": url})


def test_sql_does_not_connect_when_already_cancelled(db, sql_run, monkeypatch):
    monkeypatch.setattr(psycopg, "connect", pytest.fail)
    with pytest.raises(StepCancelled):
        sql_run({"query": "SELECT 1"}, should_stop=lambda: True)


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ({}, "'query' is required"),
        ({"query": "SELECT 1", "params": "x"}, "'params'"),
        ({"query": "SELECT 1", "expect": {"count": 1}}, "'expect' keys"),
        ({"query": "SELECT 1", "expect": {"rows": -1}}, "whole number"),
        ({"query": "SELECT 1", "expect": {"equals": [1, 2]}}, "list of rows"),
        ({"query": "SELECT 1", "autocommit": "yes"}, "'autocommit'"),
        ({"query": "SELECT 1", "sql": "x"}, "unknown key 'sql'"),
    ],
)
def test_sql_validate_reports_bad_commands(command, problem):
    assert any(problem in text for text in executor.validate(command))
