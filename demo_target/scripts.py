"""The rollback's own steps, in Python: restore the pre-migration backup, reset sequences.

The MIG-002 runbook runs the same steps from its shell script against the live
target; these functions let tests (and the ``demo_target restore`` command) prove
the round trip without a shell.
"""

from __future__ import annotations

from pathlib import Path

from psycopg import sql

from demo_target import pg
from demo_target.schema import SEQUENCES

INTEGER_TYPES = {"smallint", "integer", "bigint"}


def restore_backup(dsn: str, path: Path | str) -> None:
    """Restore a ``pg_dump -Fc`` archive over the database at ``dsn``.

    The plan's flags (``--clean --no-acl --no-owner``) plus ``--if-exists``, so the
    drops do not fail on objects the migration already removed (the integer id
    sequences), and ``--single-transaction``: a restore that fails half-way must
    leave the database as it found it, never half old and half new.
    """
    archive = Path(path)
    if not archive.is_file():
        raise pg.TargetError(f"no backup at {archive}")
    conninfo, env = pg.tool_connection(dsn)
    pg.run_tool(
        [
            "pg_restore",
            "--clean",
            "--if-exists",
            "--no-acl",
            "--no-owner",
            "--single-transaction",
            "--exit-on-error",
            f"--dbname={conninfo}",
            str(archive),
        ],
        env,
    )


def reset_sequences(dsn: str) -> dict[str, int]:
    """Point each id sequence past its table's max id; return the next id each will give."""
    with pg.connect(dsn) as conn:
        return reset_sequences_on(conn)


def reset_sequences_on(conn: pg.Conn) -> dict[str, int]:
    """The plan's ``setval('user_id_seq', (SELECT MAX(id) FROM users))``, for every sequence.

    ``setval(seq, max)`` marks max as used, so nextval() gives max + 1. An empty
    table gets ``setval(seq, 1, false)`` (the plan's form would pass NULL, which
    setval ignores silently). Fails loudly while ids are still UUIDs: then there
    is nothing to reset, the database has not been restored.
    """
    next_ids: dict[str, int] = {}
    for sequence, table in SEQUENCES.items():
        id_type = id_column_type(conn, table)
        if id_type not in INTEGER_TYPES:
            raise pg.TargetError(
                f"{table}.id is {id_type or 'missing'}, not an integer: restore the backup first"
            )
        if not sequence_exists(conn, sequence):
            raise pg.TargetError(f"sequence {sequence} does not exist: restore the backup first")
        row = conn.execute(
            sql.SQL("SELECT max(id) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        max_id = row[0] if row else None
        if max_id is None:
            conn.execute("SELECT setval(%s::regclass, 1, false)", [sequence])
            next_ids[sequence] = 1
        else:
            conn.execute("SELECT setval(%s::regclass, %s, true)", [sequence, max_id])
            next_ids[sequence] = int(max_id) + 1
    return next_ids


def id_column_type(conn: pg.Conn, table: str) -> str | None:
    row = conn.execute(
        "SELECT data_type FROM information_schema.columns"
        " WHERE table_schema = 'public' AND table_name = %s AND column_name = 'id'",
        [table],
    ).fetchone()
    return str(row[0]) if row else None


def sequence_exists(conn: pg.Conn, sequence: str) -> bool:
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", [f"public.{sequence}"]).fetchone()
    return bool(row and row[0])
