"""What the target's data looks like, in a form two snapshots can be compared by.

``fingerprint(dsn)`` gives::

    {
      "tables":    {"permissions": 2270, "profiles": 1000, ...},  # every table in public
      "checksums": {"users": "<md5 hex>", "tasks": "<md5 hex>", ...},  # None: table missing
      "id_types":  {"users": "integer", "tasks": "integer"},  # "uuid" after MIG-002
    }

A checksum is the md5 of the table's rows rendered as row text (``ROW(a, b)::text``,
in UTC and ISO dates) over the columns in CHECKSUM_COLUMNS, sorted in C collation
and joined by newlines: independent of physical row order, so a restored table
with the same content has the same checksum. ``sequence_state(dsn)`` is kept
apart: sequences are expected to move after a restore, the data is not.

``feature_flags`` is part of the fingerprint like every other table: the flags
are data the backup holds (all off), the bad migration switches them on, and a
restore that left them on would not have given the pre-migration database back.
``sessions`` is too, so a fingerprint taken after logins through the demo
application differs from the backup's by exactly those sessions
(``tables.sessions`` and ``checksums.sessions``): compare before logging in.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypedDict

import psycopg
from psycopg import sql

from demo_target import pg
from demo_target.schema import COLUMNS, SEQUENCES
from demo_target.scripts import INTEGER_TYPES, id_column_type, sequence_exists

# Every column the generator loads is part of the checksum: a changed value anywhere
# shows, a feature flag left on included.
CHECKSUM_COLUMNS: dict[str, tuple[str, ...]] = dict(COLUMNS)
ID_TABLES = ("users", "tasks")


class Fingerprint(TypedDict):
    tables: dict[str, int]
    checksums: dict[str, str | None]
    id_types: dict[str, str | None]


class SequenceState(TypedDict):
    table: str
    exists: bool
    last_value: int | None
    is_called: bool | None
    next_value: int | None  # what nextval() would return, read without consuming it
    max_id: int | None  # None when the table is empty or its ids are not integers
    is_past_max: bool  # nextval() cannot collide with an existing id


def fingerprint(dsn: str) -> Fingerprint:
    with pg.connect(dsn) as conn:
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
        counts = {table: _count(conn, table) for table in tables}
        checksums = {
            table: _checksum(conn, table, columns) if table in counts else None
            for table, columns in CHECKSUM_COLUMNS.items()
        }
        id_types = {table: id_column_type(conn, table) for table in ID_TABLES}
    return {"tables": counts, "checksums": checksums, "id_types": id_types}


def sequence_state(dsn: str) -> dict[str, SequenceState]:
    """Each id sequence against its table's max id (the plan's "update sequences" step)."""
    with pg.connect(dsn) as conn:
        return {sequence: _sequence(conn, sequence, table) for sequence, table in SEQUENCES.items()}


def diff_fingerprints(before: Fingerprint, after: Fingerprint) -> list[str]:
    """Human-readable differences, e.g. ``tables.recurrences: 900 -> 675``; empty when equal."""
    changes: list[str] = []
    sections: tuple[tuple[str, Mapping[str, object], Mapping[str, object]], ...] = (
        ("tables", before["tables"], after["tables"]),
        ("checksums", before["checksums"], after["checksums"]),
        ("id_types", before["id_types"], after["id_types"]),
    )
    for section, old, new in sections:
        for key in sorted(old.keys() | new.keys()):
            if old.get(key) != new.get(key):
                changes.append(f"{section}.{key}: {old.get(key)} -> {new.get(key)}")
    return changes


def _count(conn: pg.Conn, table: str) -> int:
    row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))).fetchone()
    return int(row[0]) if row else 0


def _checksum(conn: pg.Conn, table: str, columns: tuple[str, ...]) -> str | None:
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


def _sequence(conn: pg.Conn, sequence: str, table: str) -> SequenceState:
    state: SequenceState = {
        "table": table,
        "exists": sequence_exists(conn, sequence),
        "last_value": None,
        "is_called": None,
        "next_value": None,
        "max_id": None,
        "is_past_max": False,
    }
    if id_column_type(conn, table) in INTEGER_TYPES:
        row = conn.execute(
            sql.SQL("SELECT max(id) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        state["max_id"] = int(row[0]) if row and row[0] is not None else None
    if not state["exists"]:
        return state
    row = conn.execute(
        sql.SQL(
            "SELECT s.last_value, s.is_called, p.increment_by FROM {} AS s, pg_sequences p"
            " WHERE p.schemaname = 'public' AND p.sequencename = {}"
        ).format(sql.Identifier(sequence), sql.Literal(sequence))
    ).fetchone()
    assert row is not None
    last_value, is_called, increment = int(row[0]), bool(row[1]), int(row[2])
    next_value = last_value + increment if is_called else last_value
    state["last_value"], state["is_called"], state["next_value"] = last_value, is_called, next_value
    state["is_past_max"] = state["max_id"] is None or next_value > state["max_id"]
    return state
