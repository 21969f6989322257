"""SQL executor: one statement against the environment's target database, with an expectation.

Command: ``{"query": "SELECT count(*) FROM users WHERE id > %(min)s", "params": {"min": 0},
"expect": {"rows": 0} | {"min_rows": 1} | {"scalar": 1} | {"equals": [[...]]},
"database_env": "TARGET_DATABASE_URL", "autocommit": false}``. Several expectation keys may
be combined; all must hold. Without ``expect`` the step passes when the statement runs.

Why it is built this way:

- The connection string is read from the step's variables (``database_env``): the
  target is the incident environment's database, never Ripcord's own.
- Parameters are bound by psycopg, never formatted into the text, so a value like
  ``x'); DROP TABLE t; --`` is stored as that string.
- The statement runs in a transaction that commits only if the expectation holds (and
  nobody cancelled meanwhile): an ``UPDATE`` expected to touch 1 row that would touch
  a thousand changes nothing. ``"autocommit": true`` is for statements that cannot run
  in a transaction (VACUUM, CREATE DATABASE); they cannot be taken back.
- ``rows``/``min_rows`` count the rows returned, or the rows affected when the
  statement returns none. Values compare equal as Python values or, when the
  expectation is a string, by their text (dates, UUIDs, decimals).
- ``statement_timeout`` follows the step timeout so the server gives up even if the
  worker dies. The statement runs in a helper thread; the caller's thread polls
  ``should_stop`` and sends the cancel request, which is what libpq allows across threads.
- Failing to connect is reported as transient (nothing ran); an error raised by the
  statement is the step's failure, recorded with its text. Neither is retried: a
  person decides on a re-run.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from runbooks.executors._stream import POLL_SECONDS, Watch
from runbooks.executors.base import (
    Emit,
    Execution,
    ExecutorError,
    Outcome,
    ShouldStop,
    TransientExecutorError,
    as_line,
)

KEYS = {"query", "params", "expect", "database_env", "autocommit"}
EXPECTATIONS = {"rows", "min_rows", "scalar", "equals"}
EVIDENCE_ROWS = 50
CANCEL_GRACE_SECONDS = 10.0  # after asking the server to cancel, how long we wait for it
_NOTHING = object()


@dataclass
class _Result:
    columns: list[str] = field(default_factory=list)
    count: int = 0
    first_rows: list[list[Any]] = field(default_factory=list)
    scalar: Any = _NOTHING
    mismatch: str | None = None  # first difference from "equals"
    committed: bool = False
    stopped: bool = False  # rolled back because a stop was asked for before the commit
    error: str | None = None


class SqlExecutor:
    kind = "sql"

    def validate(self, command: Mapping[str, Any]) -> list[str]:
        problems = [f"sql: unknown key {key!r}" for key in sorted(set(command) - KEYS)]
        if not isinstance(command.get("query"), str) or not command["query"].strip():
            problems.append("sql: 'query' is required")
        if not isinstance(command.get("params", {}), dict | list):
            problems.append("sql: 'params' must be an object (%(name)s) or a list (%s)")
        expect = command.get("expect", {})
        if not isinstance(expect, dict) or not set(expect) <= EXPECTATIONS:
            problems.append(f"sql: 'expect' keys must be among {', '.join(sorted(EXPECTATIONS))}")
        else:
            for key in ("rows", "min_rows"):
                if key in expect and (type(expect[key]) is not int or expect[key] < 0):
                    problems.append(f"sql: 'expect.{key}' must be a whole number")
            if "equals" in expect and not (
                isinstance(expect["equals"], list)
                and all(isinstance(row, list) for row in expect["equals"])
            ):
                problems.append("sql: 'expect.equals' must be a list of rows (lists)")
        if not isinstance(command.get("database_env", ""), str):
            problems.append("sql: 'database_env' must name a variable")
        if not isinstance(command.get("autocommit", False), bool):
            problems.append("sql: 'autocommit' must be true or false")
        return problems

    def abandon(self, run_id: int, *, instance: str) -> str:
        """Nothing to stop: the statement's statement_timeout ends it on the server, and
        an uncommitted transaction is rolled back when the dead worker's connection drops."""
        return ""

    def run(self, execution: Execution, *, emit: Emit, should_stop: ShouldStop) -> Outcome:
        command = execution.command
        if problems := self.validate(command):
            raise ExecutorError("; ".join(problems))
        variable = command.get("database_env", "TARGET_DATABASE_URL")
        conninfo = execution.env.get(variable)
        if not conninfo:
            raise ExecutorError(f"sql: the variable {variable} holding the connection is not set")
        watch = Watch(should_stop, execution.timeout_seconds)
        if reason := watch.reason():
            raise watch.error(reason)
        attempt = _Attempt(conninfo, command, watch.remaining())
        thread = threading.Thread(target=attempt, name=f"sql-run-{execution.run_id}", daemon=True)
        thread.start()
        reason = None
        while thread.is_alive() and reason is None:
            thread.join(0.1)
            reason = watch.reason()
        if reason is not None:
            _cancel_until_done(attempt, thread)
        if attempt.exc is not None and not isinstance(attempt.exc, psycopg.errors.QueryCanceled):
            raise attempt.exc
        result = attempt.result
        if attempt.exc is not None or result is None or result.stopped:
            # Stopped by us, or by the server's statement_timeout (no reason of ours yet).
            raise watch.error(reason or "timed_out")
        # A statement that finished before the stop took effect is reported as it happened.
        return _report(command, result, emit)


class _Attempt:
    """The part that runs in the helper thread; the caller only reads it after join()."""

    def __init__(self, conninfo: str, command: Mapping[str, Any], seconds: float) -> None:
        self.conninfo, self.command, self.seconds = conninfo, command, seconds
        self.stop = threading.Event()
        self.conn: psycopg.Connection[Any] | None = None
        self.result: _Result | None = None
        self.exc: BaseException | None = None

    def __call__(self) -> None:
        try:
            self.result = self._run()
        except BaseException as exc:  # handed to the caller's thread
            self.exc = exc

    def cancel(self) -> None:
        conn = self.conn
        if conn is not None and not conn.closed:
            with contextlib.suppress(psycopg.Error):
                conn.cancel_safe(timeout=2.0)

    def _run(self) -> _Result | None:
        connect_timeout = max(1, min(10, int(self.seconds)))
        try:
            conn = psycopg.connect(self.conninfo, autocommit=True, connect_timeout=connect_timeout)
        except psycopg.OperationalError as exc:
            raise TransientExecutorError(f"sql: cannot connect: {exc}".strip()) from exc
        self.conn = conn
        with conn:
            millis = str(max(1, int(self.seconds * 1000)))  # 0 would mean "no limit"
            conn.execute("SELECT set_config('statement_timeout', %s, false)", [millis])
            if self.stop.is_set():
                return None
            result = _Result()
            try:
                if self.command.get("autocommit", False):
                    self._execute(conn, result)
                else:
                    with conn.transaction():
                        self._execute(conn, result)
                        result.stopped = self.stop.is_set()
                        if result.stopped or not _all_ok(self.command, result):
                            raise psycopg.Rollback()
                        result.committed = True
            except psycopg.errors.QueryCanceled:
                raise
            except psycopg.Error as exc:
                result.error = str(exc).strip() or type(exc).__name__
            return result

    def _execute(self, conn: psycopg.Connection[Any], result: _Result) -> None:
        wanted = self.command.get("expect", {}).get("equals")
        with conn.cursor() as cur:
            cur.execute(self.command["query"], self.command.get("params") or None)
            if cur.description is None:
                result.count = max(cur.rowcount, 0)
                return
            result.columns = [column.name for column in cur.description]
            for index, row in enumerate(cur):
                if index < EVIDENCE_ROWS:
                    result.first_rows.append([_plain(value) for value in row])
                if index == 0 and row:
                    result.scalar = row[0]
                if wanted is not None and result.mismatch is None:
                    if index >= len(wanted):
                        result.mismatch = f"extra row {index + 1}"
                    elif not _row_equal(row, wanted[index]):
                        result.mismatch = f"row {index + 1} differs"
                result.count = index + 1


def _cancel_until_done(attempt: _Attempt, thread: threading.Thread) -> None:
    """Ask the server to cancel, again every poll: the first request may land before the query."""
    attempt.stop.set()
    deadline = time.monotonic() + CANCEL_GRACE_SECONDS
    while thread.is_alive() and time.monotonic() < deadline:
        attempt.cancel()
        thread.join(POLL_SECONDS)


def _checks(command: Mapping[str, Any], result: _Result) -> list[dict[str, Any]]:
    expect = command.get("expect", {})
    checks: list[tuple[str, Any, Any, bool]] = []
    if "rows" in expect:
        checks.append(("rows", expect["rows"], result.count, result.count == expect["rows"]))
    if "min_rows" in expect:
        checks.append(
            ("min_rows", expect["min_rows"], result.count, result.count >= expect["min_rows"])
        )
    if "scalar" in expect:
        seen = result.scalar
        ok = seen is not _NOTHING and _same(seen, expect["scalar"])
        checks.append(("scalar", expect["scalar"], None if seen is _NOTHING else _plain(seen), ok))
    if "equals" in expect:
        wanted = expect["equals"]
        ok = result.mismatch is None and result.count == len(wanted)
        seen = result.mismatch or f"{result.count} row(s)"
        checks.append(("equals", wanted, seen if not ok else wanted, ok))
    return [{"check": c, "expected": e, "seen": s, "ok": ok} for c, e, s, ok in checks]


def _all_ok(command: Mapping[str, Any], result: _Result) -> bool:
    return all(check["ok"] for check in _checks(command, result))


def _report(command: Mapping[str, Any], result: _Result, emit: Emit) -> Outcome:
    """Emit the first rows and the checks; build the outcome kept with the run."""
    evidence: dict[str, Any] = {"query": command["query"], "params": _plain(command.get("params"))}
    if result.error is not None:
        emit(as_line(f"ERROR: {result.error}"))
        first_line = result.error.splitlines()[0]
        return Outcome(
            succeeded=False,
            summary=f"error: {first_line}",
            evidence=evidence | {"error": result.error},
        )
    if result.columns:
        emit(as_line("\t".join(result.columns)))
        for row in result.first_rows:
            emit(as_line("\t".join("NULL" if value is None else str(value) for value in row)))
        if result.count > EVIDENCE_ROWS:
            emit(as_line(f"[ripcord] … {result.count - EVIDENCE_ROWS} more row(s)"))
    emit(as_line(f"({result.count} row{'s' if result.count != 1 else ''})"))
    checks = _checks(command, result)
    for check in checks:
        verdict = "ok" if check["ok"] else "FAILED"
        emit(
            as_line(
                f"[ripcord] expect {check['check']} {check['expected']!r}: "
                f"saw {check['seen']!r}, {verdict}"
            )
        )
    failed = [check for check in checks if not check["ok"]]
    if failed:
        first = failed[0]
        summary = f"expected {first['check']} {first['expected']!r}, saw {first['seen']!r}"
        if not command.get("autocommit", False):
            summary += " (rolled back)"
    else:
        summary = f"{result.count} row(s)" + (", as expected" if checks else "")
    evidence |= {
        "expect": command.get("expect", {}),
        "seen": {"rows": result.count, "columns": result.columns, "first_rows": result.first_rows},
        "checks": checks,
        "committed": result.committed,
    }
    return Outcome(succeeded=not failed, summary=summary, evidence=evidence)


def _row_equal(row: Any, wanted: list[Any]) -> bool:
    return len(row) == len(wanted) and all(_same(a, b) for a, b in zip(row, wanted, strict=False))


def _same(seen: Any, wanted: Any) -> bool:
    if isinstance(seen, bool) or isinstance(wanted, bool):
        return type(seen) is type(wanted) and seen == wanted
    if seen == wanted:
        return True
    return isinstance(wanted, str) and seen is not None and str(seen) == wanted


def _plain(value: Any) -> Any:
    """A JSON-friendly copy of a database value, for evidence."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    return str(value)
