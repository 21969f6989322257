"""Each id sequence against its table's highest id: did "update sequences" do its job?

Kept apart from the fingerprint of the data: sequences are expected to move
after a restore, the data is not.
"""

from __future__ import annotations

from typing import TypedDict

from psycopg import sql

from demo_target import pg
from demo_target.schema import SEQUENCES
from demo_target.scripts import INTEGER_TYPES, id_column_type, sequence_exists


class SequenceState(TypedDict):
    table: str
    exists: bool
    last_value: int | None
    is_called: bool | None
    next_value: int | None  # what nextval() would return, read without consuming it
    max_id: int | None  # None when the table is empty or its ids are not integers
    is_past_max: bool  # nextval() cannot collide with an existing id


def sequence_state(dsn: str) -> dict[str, SequenceState]:
    """Each id sequence against its table's max id (the plan's "update sequences" step)."""
    with pg.connect(dsn) as conn:
        return {sequence: _sequence(conn, sequence, table) for sequence, table in SEQUENCES.items()}


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
