"""Build the demo target: the pre-migration database, its backup, and MIG-002 gone wrong."""

from __future__ import annotations

import os
from pathlib import Path

from psycopg import sql

from demo_target import pg
from demo_target.data import build_rows
from demo_target.schema import create_schema, load_rows
from demo_target.scripts import reset_sequences_on

# Never dropped by create_target/drop_target, whatever the caller passes.
PROTECTED_DATABASES = frozenset({"postgres", "template0", "template1"})


def create_target(
    dsn_admin: str, dbname: str, *, users: int = 1000, tasks: int = 6000, seed: int = 2
) -> str:
    """(Re)create database ``dbname`` with the pre-migration schema and data; return its DSN.

    ``dsn_admin`` points at a database of the same server (usually ``postgres``)
    with the right to create databases. An existing ``dbname`` is dropped first.
    """
    drop_target(dsn_admin, dbname)
    with pg.connect(dsn_admin, autocommit=True) as admin:
        # template0: template1 may be busy with another session, which makes CREATE fail.
        admin.execute(
            sql.SQL("CREATE DATABASE {} TEMPLATE template0 ENCODING 'UTF8'").format(
                sql.Identifier(dbname)
            )
        )
    dsn = pg.with_dbname(dsn_admin, dbname)
    rows = build_rows(users=users, tasks=tasks, seed=seed)
    with pg.connect(dsn) as conn:
        create_schema(conn)
        load_rows(conn, rows)
        reset_sequences_on(conn)
        conn.execute("ANALYZE")
    return dsn


def drop_target(dsn_admin: str, dbname: str) -> None:
    """Drop ``dbname`` if it exists, disconnecting its sessions."""
    if dbname in PROTECTED_DATABASES or dbname == pg.dbname_of(dsn_admin):
        raise pg.TargetError(f"refusing to drop database {dbname!r}: it is not a demo target")
    with pg.connect(dsn_admin, autocommit=True) as admin:
        admin.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(dbname))
        )


def take_backup(dsn: str, path: Path | str) -> Path:
    """``pg_dump -Fc`` of ``dsn`` to ``path``; return the path.

    The dump is written beside the target and renamed into place only once
    pg_dump succeeded, so a failed backup never leaves a file that looks like one.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    conninfo, env = pg.tool_connection(dsn)
    try:
        pg.run_tool(
            ["pg_dump", "--format=custom", f"--file={partial}", f"--dbname={conninfo}"], env
        )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    with pg.connect(dsn) as conn:  # the point-in-time marker: where the WAL stood at backup time
        lsn, at = conn.execute("SELECT pg_current_wal_lsn()::text, now()").fetchone() or ("", "")
    pitr_marker(target).write_text(f"lsn {lsn} at {at}\n")
    return target


def pitr_marker(backup: Path) -> Path:
    """The point-in-time recovery marker written beside a backup (``<name>.pitr``)."""
    return backup.with_suffix(".pitr")


def verify_backup(path: Path | str) -> int:
    """Check that ``path`` is a readable custom-format archive; return its table-data count."""
    archive = Path(path)
    if not archive.is_file():
        raise pg.TargetError(f"no backup at {archive}")
    listing = pg.run_tool(["pg_restore", "--list", str(archive)], dict(os.environ))
    return sum(1 for line in listing.splitlines() if " TABLE DATA " in line)


# The migration as it was shipped: correct in outline (UUID keys, references
# repointed, same constraint names), wrong in the details a review missed. Every
# defect picks its rows by integer id, before the ids are dropped, so the damage
# is the same on every run; only the new UUID values differ.
BAD_MIGRATION = """
ALTER TABLE users ADD COLUMN new_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE tasks ADD COLUMN new_id uuid NOT NULL DEFAULT gen_random_uuid();
ALTER TABLE profiles ADD COLUMN new_user_id uuid;
ALTER TABLE permissions ADD COLUMN new_user_id uuid;
ALTER TABLE sessions ADD COLUMN new_user_id uuid;
ALTER TABLE tasks ADD COLUMN new_owner_id uuid;
ALTER TABLE task_tags ADD COLUMN new_task_id uuid;
ALTER TABLE recurrences ADD COLUMN new_task_id uuid;

UPDATE profiles p SET new_user_id = u.new_id FROM users u WHERE u.id = p.user_id;
UPDATE permissions p SET new_user_id = u.new_id FROM users u WHERE u.id = p.user_id;
UPDATE sessions s SET new_user_id = u.new_id FROM users u WHERE u.id = s.user_id;
UPDATE task_tags tt SET new_task_id = t.new_id FROM tasks t WHERE t.id = tt.task_id;
UPDATE recurrences r SET new_task_id = t.new_id FROM tasks t WHERE t.id = r.task_id;
-- Defect: the owner backfill ran in batches and skipped one id in 97: orphaned tasks.
UPDATE tasks t SET new_owner_id = u.new_id FROM users u
 WHERE u.id = t.owner_id AND t.id % 97 <> 0;

-- Defect: batch 3 of the enum rewrite used a shifted map for status and priority.
UPDATE tasks SET status = CASE status WHEN 'in_progress' THEN 'todo'
                                      WHEN 'done' THEN 'in_progress' ELSE 'done' END,
                 priority = 5 - priority
 WHERE id % 10 = 3;
-- Defect: the join-table copy dropped tags of every ninth task.
DELETE FROM task_tags WHERE task_id % 9 = 0;
-- Defect: recurrences with a rule the new parser rejected were discarded.
DELETE FROM recurrences WHERE task_id % 4 = 1;
-- Defect: a varchar(64) staging column truncated the hashes of every eighth user.
UPDATE users SET password_hash = left(password_hash, 64) WHERE id % 8 = 0;
-- Defect: sessions of one shard were invalidated, extra permissions of another lost.
DELETE FROM sessions WHERE user_id % 12 = 5;
DELETE FROM permissions
 WHERE user_id % 3 = 0 AND permission NOT IN ('tasks.read', 'tasks.write');
-- Defect: profile time zones were reset to the column default for one shard.
UPDATE profiles SET timezone = 'UTC' WHERE user_id % 10 = 5;
-- Not a defect: the rollout switched on the features the migration shipped.
UPDATE feature_flags SET enabled = true;

-- Swap the keys. CASCADE drops the foreign keys pointing at users/tasks and the
-- integer id sequences (owned by the columns), as the shipped migration did.
ALTER TABLE users DROP COLUMN id CASCADE;
ALTER TABLE tasks DROP COLUMN id CASCADE;
ALTER TABLE profiles DROP COLUMN user_id;
ALTER TABLE permissions DROP COLUMN user_id;
ALTER TABLE sessions DROP COLUMN user_id;
ALTER TABLE tasks DROP COLUMN owner_id;
ALTER TABLE task_tags DROP COLUMN task_id;
ALTER TABLE recurrences DROP COLUMN task_id;
ALTER TABLE users RENAME COLUMN new_id TO id;
ALTER TABLE tasks RENAME COLUMN new_id TO id;
ALTER TABLE profiles RENAME COLUMN new_user_id TO user_id;
ALTER TABLE permissions RENAME COLUMN new_user_id TO user_id;
ALTER TABLE sessions RENAME COLUMN new_user_id TO user_id;
ALTER TABLE tasks RENAME COLUMN new_owner_id TO owner_id;
ALTER TABLE task_tags RENAME COLUMN new_task_id TO task_id;
ALTER TABLE recurrences RENAME COLUMN new_task_id TO task_id;

ALTER TABLE users ADD CONSTRAINT users_pkey PRIMARY KEY (id);
ALTER TABLE tasks ADD CONSTRAINT tasks_pkey PRIMARY KEY (id);
ALTER TABLE profiles ADD CONSTRAINT profiles_pkey PRIMARY KEY (user_id);
ALTER TABLE permissions ADD CONSTRAINT permissions_pkey PRIMARY KEY (user_id, permission);
ALTER TABLE sessions ALTER COLUMN user_id SET NOT NULL;
ALTER TABLE task_tags ADD CONSTRAINT task_tags_pkey PRIMARY KEY (task_id, tag_id);
ALTER TABLE recurrences ADD CONSTRAINT recurrences_pkey PRIMARY KEY (task_id);
-- Defect: tasks.owner_id is left nullable, so the orphans above are accepted.
ALTER TABLE profiles ADD CONSTRAINT profiles_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE permissions ADD CONSTRAINT permissions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE sessions ADD CONSTRAINT sessions_user_id_fkey
    FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE tasks ADD CONSTRAINT tasks_owner_id_fkey
    FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE;
ALTER TABLE task_tags ADD CONSTRAINT task_tags_task_id_fkey
    FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE;
ALTER TABLE recurrences ADD CONSTRAINT recurrences_task_id_fkey
    FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE;
CREATE INDEX sessions_user_id_idx ON sessions (user_id);
CREATE INDEX tasks_owner_id_idx ON tasks (owner_id);
"""


def apply_bad_migration(dsn: str) -> None:
    """Apply MIG-002 as it went wrong: UUID keys everywhere, and damaged rows.

    One transaction, like the real migration tool: it either fully applies or
    leaves the pre-migration database. After it, ``users.id`` and ``tasks.id``
    (and every reference to them) are UUIDs, ``user_id_seq``/``task_id_seq`` are
    gone, every feature flag is on, and the defects listed in BAD_MIGRATION are
    in the data.
    """
    with pg.connect(dsn) as conn:
        conn.execute(BAD_MIGRATION)
