"""What a database's data looks like, in a form two snapshots can be compared by.

``fingerprint(dsn, checksums={...}, id_tables=[...])`` (or ``fingerprint_of(conn, ...)``
over a connection of the caller's) gives::

    {
      "tables":    {"permissions": 2270, "profiles": 1000, ...},  # row counts
      "checksums": {"users": "<md5 hex>", ...},  # None: the table or a column is missing
      "columns":   {"users": ["id", "email", ...], ...},  # what each checksum covers
      "id_types":  {"users": "integer", "tasks": "integer"},  # None: no id column
    }

Which tables and columns is the caller's to say: a runbook's ``snapshot`` (the
incident snapshot), a snapshot check's params, or the demo target's own lists
(``manage.py demo_target``). Row counts cover every table of the ``public``
schema unless ``counts`` names some.

A checksum is the md5 of the table's rows rendered as row text (``ROW(a, b)::text``,
in UTC and ISO dates) over the given columns, sorted in C collation and joined by
newlines: independent of physical row order, so a restored table with the same
content has the same checksum. Checksums are only comparable over the same columns,
which is why the fingerprint records them.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Any, TypedDict

import psycopg
from psycopg import sql
from psycopg.rows import TupleRow

from validation.postgres import TargetError, first_line, redact

CONNECT_TIMEOUT_SECONDS = 5
Conn = psycopg.Connection[TupleRow]
SECTIONS = ("tables", "checksums", "columns", "id_types")


class Fingerprint(TypedDict):
    tables: dict[str, int]
    checksums: dict[str, str | None]
    columns: dict[str, list[str]]
    id_types: dict[str, str | None]


def fingerprint(
    dsn: str,
    *,
    checksums: Mapping[str, Sequence[str]],
    id_tables: Sequence[str],
    counts: Collection[str] | None = None,
) -> Fingerprint:
    """Row counts, checksums over ``checksums``' columns and the id types of ``id_tables``.

    Raises TargetError (naming the database without its password) when the
    database cannot be reached or read.
    """
    try:
        conn = psycopg.connect(dsn, connect_timeout=CONNECT_TIMEOUT_SECONDS)
    except psycopg.Error as exc:
        raise TargetError(f"cannot connect to {redact(dsn)}: {first_line(exc)}") from exc
    conn.read_only = True  # a validation never changes what it judges
    try:
        with conn:
            return fingerprint_of(conn, checksums=checksums, id_tables=id_tables, counts=counts)
    except psycopg.Error as exc:
        raise TargetError(f"cannot fingerprint {redact(dsn)}: {first_line(exc)}") from exc


def diff_fingerprints(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """Human-readable differences, e.g. ``tables.recurrences: 900 -> 675``; empty when equal.

    Takes fingerprints as read back from JSON too, older ones without ``columns`` included.
    """
    changes: list[str] = []
    for section in SECTIONS:
        old, new = before.get(section) or {}, after.get(section) or {}
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                changes.append(f"{section}.{key}: {old.get(key)} -> {new.get(key)}")
    return changes


def fingerprint_of(
    conn: Conn,
    *,
    checksums: Mapping[str, Sequence[str]],
    id_tables: Sequence[str],
    counts: Collection[str] | None = None,
) -> Fingerprint:
    """``fingerprint`` over a connection the caller opened; psycopg's errors are the caller's."""
    # Row text of timestamptz depends on these; pin them so any client agrees.
    conn.execute("SET TIME ZONE 'UTC'")
    conn.execute("SET datestyle = 'ISO, YMD'")
    tables = [
        str(name)
        for (name,) in conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') ORDER BY c.relname"
        )
    ]
    counted = {table: _count(conn, table) for table in tables if counts is None or table in counts}
    return {
        "tables": counted,
        "checksums": {
            table: _checksum(conn, table, columns) if table in tables else None
            for table, columns in checksums.items()
        },
        "columns": {table: list(columns) for table, columns in checksums.items()},
        "id_types": _id_types(conn, id_tables),
    }


def _count(conn: Conn, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


def _checksum(conn: Conn, table: str, columns: Sequence[str]) -> str | None:
    query = sql.SQL(
        "SELECT md5(coalesce(string_agg(r, E'\\n' ORDER BY r COLLATE \"C\"), ''))"
        " FROM (SELECT ROW({columns})::text AS r FROM {table}) AS rows"
    ).format(columns=sql.SQL(", ").join(map(sql.Identifier, columns)), table=sql.Identifier(table))
    try:
        # A savepoint, so a column the migration renamed away costs one checksum, not all.
        with conn.transaction():
            row = conn.execute(query).fetchone()
    except psycopg.errors.UndefinedColumn:
        return None
    return str(row[0]) if row else None


def _id_types(conn: Conn, tables: Sequence[str]) -> dict[str, str | None]:
    """The type of each table's ``id`` column (``integer``, ``uuid``...); None without one."""
    rows = conn.execute(
        "SELECT table_name, data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND column_name = 'id' AND table_name = ANY(%s)",
        [list(tables)],
    ).fetchall()
    found = {str(table): str(data_type) for table, data_type in rows}
    return {table: found.get(table) for table in tables}
