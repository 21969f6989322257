"""The todo application's schema before MIG-002: integer ids from named sequences.

The sequence names (``user_id_seq``, ``task_id_seq``) are the ones the rollback
plan's script resets, so the plan's own commands run unchanged against this
database. Every constraint and index is named explicitly: the bad migration
re-creates them under the same names, which is what lets ``pg_restore --clean``
drop them one by one before it drops the tables (see generate.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from psycopg import sql

from demo_target.pg import Conn

# Creation (and COPY) order: referenced tables first.
TABLES: tuple[str, ...] = (
    "users",
    "profiles",
    "permissions",
    "sessions",
    "tags",
    "tasks",
    "task_tags",
    "recurrences",
    "feature_flags",
)

# Sequence -> the table whose ``id`` it feeds.
SEQUENCES: dict[str, str] = {
    "user_id_seq": "users",
    "task_id_seq": "tasks",
    "tag_id_seq": "tags",
}

ROLES = ("member", "admin")
STATUSES = ("todo", "in_progress", "done")
PRIORITIES = (1, 2, 3, 4)

# Columns loaded by COPY, per table, in the order the data generator yields them.
COLUMNS: dict[str, tuple[str, ...]] = {
    "users": ("id", "email", "display_name", "role", "password_hash", "created_at"),
    "profiles": ("user_id", "timezone", "locale", "bio"),
    "permissions": ("user_id", "permission"),
    "sessions": ("key", "user_id", "expires_at"),
    "tags": ("id", "name", "color"),
    "tasks": (
        "id",
        "owner_id",
        "title",
        "status",
        "priority",
        "due_at",
        "created_at",
        "updated_at",
    ),
    "task_tags": ("task_id", "tag_id"),
    "recurrences": ("task_id", "rule", "next_at"),
    "feature_flags": ("name", "enabled"),
}

# What a fingerprint of the target covers (``manage.py demo_target``, and MIG-002's
# runbook ``snapshot:`` and snapshot checks say the same). Every column the generator
# loads is in a checksum, so a changed value anywhere shows, a feature flag left on
# included: the flags are data the backup holds (all off) and the bad migration
# switches on. ``sessions`` is too, so a fingerprint taken after logins through the
# demo application differs from the backup's by exactly those sessions: compare
# before logging in.
CHECKSUM_COLUMNS: dict[str, tuple[str, ...]] = dict(COLUMNS)
ID_TABLES = ("users", "tasks")  # integer ids before MIG-002, UUIDs after it

DDL = """
CREATE SEQUENCE user_id_seq AS integer;
CREATE TABLE users (
    id integer NOT NULL DEFAULT nextval('user_id_seq'),
    email text NOT NULL,
    display_name text NOT NULL,
    role text NOT NULL DEFAULT 'member',
    password_hash text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT users_pkey PRIMARY KEY (id),
    CONSTRAINT users_email_key UNIQUE (email),
    CONSTRAINT users_role_check CHECK (role IN ('member', 'admin'))
);
ALTER SEQUENCE user_id_seq OWNED BY users.id;

CREATE TABLE profiles (
    user_id integer NOT NULL,
    timezone text NOT NULL DEFAULT 'UTC',
    locale text NOT NULL DEFAULT 'en-US',
    bio text NOT NULL DEFAULT '',
    CONSTRAINT profiles_pkey PRIMARY KEY (user_id),
    CONSTRAINT profiles_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE permissions (
    user_id integer NOT NULL,
    permission text NOT NULL,
    CONSTRAINT permissions_pkey PRIMARY KEY (user_id, permission),
    CONSTRAINT permissions_user_id_fkey FOREIGN KEY (user_id)
        REFERENCES users (id) ON DELETE CASCADE
);

CREATE TABLE sessions (
    key text NOT NULL,
    user_id integer NOT NULL,
    expires_at timestamptz NOT NULL,
    CONSTRAINT sessions_pkey PRIMARY KEY (key),
    CONSTRAINT sessions_user_id_fkey FOREIGN KEY (user_id) REFERENCES users (id) ON DELETE CASCADE
);
CREATE INDEX sessions_user_id_idx ON sessions (user_id);

CREATE SEQUENCE tag_id_seq AS integer;
CREATE TABLE tags (
    id integer NOT NULL DEFAULT nextval('tag_id_seq'),
    name text NOT NULL,
    color text NOT NULL,
    CONSTRAINT tags_pkey PRIMARY KEY (id),
    CONSTRAINT tags_name_key UNIQUE (name)
);
ALTER SEQUENCE tag_id_seq OWNED BY tags.id;

CREATE SEQUENCE task_id_seq AS integer;
CREATE TABLE tasks (
    id integer NOT NULL DEFAULT nextval('task_id_seq'),
    owner_id integer NOT NULL,
    title text NOT NULL,
    status text NOT NULL DEFAULT 'todo',
    priority smallint NOT NULL DEFAULT 2,
    due_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT tasks_pkey PRIMARY KEY (id),
    CONSTRAINT tasks_owner_id_fkey FOREIGN KEY (owner_id) REFERENCES users (id) ON DELETE CASCADE,
    CONSTRAINT tasks_status_check CHECK (status IN ('todo', 'in_progress', 'done')),
    CONSTRAINT tasks_priority_check CHECK (priority BETWEEN 1 AND 4)
);
ALTER SEQUENCE task_id_seq OWNED BY tasks.id;
CREATE INDEX tasks_owner_id_idx ON tasks (owner_id);

CREATE TABLE task_tags (
    task_id integer NOT NULL,
    tag_id integer NOT NULL,
    CONSTRAINT task_tags_pkey PRIMARY KEY (task_id, tag_id),
    CONSTRAINT task_tags_task_id_fkey FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE,
    CONSTRAINT task_tags_tag_id_fkey FOREIGN KEY (tag_id) REFERENCES tags (id) ON DELETE CASCADE
);
CREATE INDEX task_tags_tag_id_idx ON task_tags (tag_id);

CREATE TABLE recurrences (
    task_id integer NOT NULL,
    rule text NOT NULL,
    next_at timestamptz NOT NULL,
    CONSTRAINT recurrences_pkey PRIMARY KEY (task_id),
    CONSTRAINT recurrences_task_id_fkey FOREIGN KEY (task_id) REFERENCES tasks (id) ON DELETE CASCADE
);

-- The application's feature flags (GET /api/flags of the demo app reads them).
CREATE TABLE feature_flags (
    name text NOT NULL,
    enabled boolean NOT NULL DEFAULT false,
    CONSTRAINT feature_flags_pkey PRIMARY KEY (name)
);
"""


def create_schema(conn: Conn) -> None:
    conn.execute(DDL)


def load_rows(
    conn: Conn,
    rows: Mapping[str, Iterable[Sequence[object]]],
) -> None:
    """Bulk-load every table with COPY, in dependency order."""
    for table in TABLES:
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, COLUMNS[table]))
        )
        with conn.cursor().copy(statement) as copy:
            for row in rows[table]:
                copy.write_row(row)
