"""sql checks: one read-only query against the target database and what it must return.

Params::

    query: SELECT t.id, t.owner_id FROM tasks t WHERE ...   # required
    params: {min: 0} | [0]          # bound by psycopg, never formatted into the text
    expect:                         # required; several keys: all must hold
      no_rows: true                 # the query finds nothing (the usual "invariant" form)
      rows: 300                     # exactly this many rows
      scalar: 0                     # the first column of the first row
      equals: [[1, "a"], [2, "b"]]  # these rows, in this order
    describe: tasks whose owner does not exist   # what one row is, for the summary
    database_env: TARGET_DATABASE_URL            # the variable holding the connection

Why it is built this way:

- The query runs in a READ ONLY transaction: a validation must never change the
  database it judges, whatever its text says.
- ``statement_timeout`` is the check's time left, so the server gives up even if
  the worker is gone. A query that fails or times out is an ``error`` (the check
  could not be evaluated), not a ``fail``.
- On a ``no_rows`` failure the summary names how many rows and the first values
  of their first column (put the id there), so the evidence says which rows.
- Values compare equal as Python values or, when the expectation is a string,
  by their text (dates, UUIDs, decimals).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg

from validation.checks.base import (
    EVIDENCE_ROWS,
    CheckContext,
    CheckError,
    CheckOutcome,
    connection_string,
    database_env_problems,
    evidence,
    examples,
    plain,
    register,
    unknown_keys,
)
from validation.postgres import first_line, redact

KEYS = {"query", "params", "expect", "database_env", "describe"}
EXPECTATIONS = {"no_rows", "rows", "scalar", "equals"}
_NOTHING = object()


@dataclass
class Seen:
    columns: list[str] = field(default_factory=list)
    count: int = 0
    rows: list[list[Any]] = field(default_factory=list)  # the first ones, JSON-friendly
    compared: list[tuple[Any, ...]] = field(default_factory=list)  # raw, for "equals"
    scalar: Any = _NOTHING


@register("sql")
class SqlCheck:
    kind = "sql"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        problems = unknown_keys(params, KEYS, "sql")
        if not isinstance(params.get("query"), str) or not params["query"].strip():
            problems.append("sql: 'query' is required")
        if not isinstance(params.get("params", {}), dict | list):
            problems.append("sql: 'params' must be an object (%(name)s) or a list (%s)")
        if not isinstance(params.get("describe", ""), str):
            problems.append("sql: 'describe' must be a text")
        problems += database_env_problems(params, "sql")
        expect = params.get("expect")
        if not isinstance(expect, dict) or not expect or not set(expect) <= EXPECTATIONS:
            keys = ", ".join(sorted(EXPECTATIONS))
            return [*problems, f"sql: 'expect' must give one or more of {keys}"]
        if "no_rows" in expect and expect["no_rows"] is not True:
            problems.append("sql: 'expect.no_rows' must be true")
        if "rows" in expect and (type(expect["rows"]) is not int or expect["rows"] < 0):
            problems.append("sql: 'expect.rows' must be a whole number")
        if "equals" in expect and not (
            isinstance(expect["equals"], list)
            and all(isinstance(r, list) for r in expect["equals"])
        ):
            problems.append("sql: 'expect.equals' must be a list of rows (lists)")
        return problems

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        query, expect = params["query"], params["expect"]
        dsn = connection_string(params, env)
        keep = len(expect["equals"]) + 1 if "equals" in expect else 0
        seen = run_query(dsn, query, params.get("params"), context.timeout_seconds, keep=keep)
        describe = params.get("describe") or "rows"
        differences = _differences(expect, seen, describe)
        seen_shown: dict[str, Any] = {"rows": seen.count, "columns": seen.columns}
        seen_shown["first_rows"] = seen.rows
        if seen.scalar is not _NOTHING:
            seen_shown["scalar"] = plain(seen.scalar)
        proof = evidence(
            query, expect, seen_shown, differences, query=query, params=plain(params.get("params"))
        )
        if differences:
            if "no_rows" in expect and seen.count:
                first = [row[0] if row else None for row in seen.rows]
                summary = f"{describe}: {seen.count} — {examples(first, seen.count)}"
            else:
                summary = "; ".join(differences)
            return CheckOutcome("fail", summary, proof)
        return CheckOutcome("pass", _passed(expect, seen, describe), proof)


def run_query(dsn: str, query: str, bound: Any, seconds: float, *, keep: int = 0) -> Seen:
    """Run ``query`` read-only; keep the first rows as evidence (and ``keep`` raw rows)."""
    try:
        conn = psycopg.connect(dsn, connect_timeout=max(1, min(10, int(seconds))))
    except psycopg.OperationalError as exc:
        raise CheckError(f"cannot connect to {redact(dsn)}: {first_line(exc)}", ran=query) from exc
    seen = Seen()
    try:
        conn.read_only = True  # BEGIN READ ONLY: the check cannot write, whatever the text says
        millis = str(max(1, int(seconds * 1000)))  # 0 would mean "no limit"
        conn.execute("SELECT set_config('statement_timeout', %s, true)", [millis])
        with conn.cursor() as cur:
            cur.execute(query, bound or None)
            if cur.description is None:
                return seen  # a statement that returns no rows (a DO block, say)
            seen.columns = [column.name for column in cur.description]
            for row in cur:
                if seen.count < EVIDENCE_ROWS:
                    seen.rows.append([plain(value) for value in row])
                if seen.count < keep:
                    seen.compared.append(tuple(row))
                if seen.count == 0 and row:
                    seen.scalar = row[0]
                seen.count += 1
    except psycopg.errors.QueryCanceled as exc:
        raise CheckError(f"the query did not finish within {seconds:.0f} s", ran=query) from exc
    except psycopg.Error as exc:
        raise CheckError(f"the query failed: {first_line(exc)}", ran=query) from exc
    finally:
        conn.rollback()
        conn.close()
    return seen


def _differences(expect: Mapping[str, Any], seen: Seen, describe: str) -> list[str]:
    differences = []
    if expect.get("no_rows") and seen.count:
        differences.append(f"{seen.count} {describe} found, none expected")
    if "rows" in expect and seen.count != expect["rows"]:
        wanted = expect["rows"]
        gap = f"{wanted - seen.count} missing" if seen.count < wanted else "extra"
        differences.append(f"{wanted} rows expected, {seen.count} seen — {gap}")
    if "scalar" in expect:
        if seen.scalar is _NOTHING:
            differences.append(f"no value returned, {expect['scalar']!r} expected")
        elif not same(seen.scalar, expect["scalar"]):
            value = plain(seen.scalar)
            differences.append(f"{expect['scalar']!r} expected, {value!r} seen")
    if "equals" in expect:
        differences += _row_differences(expect["equals"], seen)
    return differences


def _row_differences(wanted: list[list[Any]], seen: Seen) -> list[str]:
    for index, row in enumerate(wanted):
        if index >= len(seen.compared):
            return [f"row {index + 1} missing: {row!r} expected, {seen.count} row(s) seen"]
        got = seen.compared[index]
        if len(got) != len(row) or not all(map(same, got, row)):
            return [f"row {index + 1}: {row!r} expected, {plain(list(got))!r} seen"]
    if seen.count > len(wanted):
        return [f"{seen.count - len(wanted)} row(s) more than the {len(wanted)} expected"]
    return []


def _passed(expect: Mapping[str, Any], seen: Seen, describe: str) -> str:
    if "no_rows" in expect:
        return f"no {describe}"
    if "scalar" in expect:
        return f"{plain(seen.scalar)!r}, as expected"
    return f"{seen.count} {describe}, as expected"


def same(seen: Any, wanted: Any) -> bool:
    if isinstance(seen, bool) or isinstance(wanted, bool):
        return type(seen) is type(wanted) and seen == wanted
    if seen == wanted:
        return True
    return isinstance(wanted, str) and seen is not None and str(seen) == wanted
