"""The demo application's task routes: list, create and update the session user's tasks.

The code is the todo application's, written for the schema before MIG-002 (both
releases run it: see releases.py), and it meets the broken database the way the
real one did. Nothing here looks at whether the database "is broken"; what fails,
fails on the data and schema the bad migration left (demo_target/generate.py):

- creating a task takes its id from ``task_id_seq`` first, as an ORM's sequence
  id generator does, so the task and its tags are written with the id in one
  transaction. The migration dropped the sequence with the integer ids (UUID keys
  now), so every create answers 503 (``database_schema``) until the restore;
- the list has two shapes of the same answer: with the ``api_v1`` feature flag on
  (the migration's rollout switched it on), the v1 serializer MIG-002 shipped
  checks read access and loads the tags and the recurrence of each task with
  queries of their own, an N+1 the review missed, so the list costs three round
  trips per task more while the flag is on.

Ids are whatever the database holds (integers, or UUIDs as strings), and a task id
in a URL is compared as text within the owner's tasks, so an update finds the task
the list showed on either schema and a malformed id is simply not found (404).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any
from uuid import UUID

from demo_target import pg
from demo_target.schema import PRIORITIES, STATUSES

TITLE_MAX = 200
TAGS_MAX = 10
# Integer ids (before MIG-002) or UUIDs (after it): anything else is no task of ours.
TASK_ID = re.compile(r"^(?:[0-9]{1,18}|[0-9a-fA-F-]{36})$")

Seen = Callable[[str], None]

TASK_COLUMNS = "t.id, t.title, t.status, t.priority"
TASKS_QUERY = f"""
SELECT {TASK_COLUMNS},
       coalesce((SELECT array_agg(g.name ORDER BY g.name) FROM task_tags tt
                 JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = t.id), '{{}}'),
       r.rule, r.next_at
FROM tasks t LEFT JOIN recurrences r ON r.task_id = t.id
WHERE t.owner_id = %s ORDER BY t.id
"""
V1_TASKS_QUERY = f"SELECT {TASK_COLUMNS} FROM tasks t WHERE t.owner_id = %s ORDER BY t.id"
V1_TAGS_QUERY = (
    "SELECT coalesce(array_agg(g.name ORDER BY g.name), '{}') FROM task_tags tt"
    " JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = %s"
)
V1_RECURRENCE_QUERY = "SELECT rule, next_at FROM recurrences WHERE task_id = %s"
V1_PERMISSION_QUERY = "SELECT 1 FROM permissions WHERE user_id = %s AND permission = 'tasks.read'"


class Refused(Exception):
    """A request answered with a client or service error: its status and reason."""

    def __init__(self, status: HTTPStatus, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


def plain_id(value: object) -> object:
    return str(value) if isinstance(value, UUID) else value


def session_user(conn: pg.Conn, session: str | None, seen: Seen | None) -> object:
    """The id of the live session's user (``seen`` told their email); Refused(401) if none."""
    if not session:
        raise Refused(HTTPStatus.UNAUTHORIZED, "no_session", "log in first (POST /login)")
    row = conn.execute(
        "SELECT s.user_id, u.email FROM sessions s JOIN users u ON u.id = s.user_id"
        " WHERE s.key = %s AND s.expires_at > now()",
        [session],
    ).fetchone()
    if row is None:
        raise Refused(HTTPStatus.UNAUTHORIZED, "no_session", "the session is unknown or expired")
    if seen is not None:
        seen(str(row[1]))
    return row[0]


def list_tasks(conn: pg.Conn, user_id: object) -> list[dict[str, Any]]:
    flag = conn.execute("SELECT enabled FROM feature_flags WHERE name = 'api_v1'").fetchone()
    if flag is not None and flag[0]:
        found = conn.execute(V1_TASKS_QUERY, [user_id]).fetchall()
        return [_v1_task(conn, user_id, row) for row in found]
    return [
        _task(task_id, title, status, priority, tags, rule, next_at)
        for task_id, title, status, priority, tags, rule, next_at in conn.execute(
            TASKS_QUERY, [user_id]
        ).fetchall()
    ]


def _v1_task(conn: pg.Conn, owner: object, row: Sequence[Any]) -> dict[str, Any]:
    task_id, title, status, priority = row
    # v1 checks read access per object, as its permission layer does for every task it shows.
    allowed = conn.execute(V1_PERMISSION_QUERY, [owner]).fetchone()
    if allowed is None:
        raise Refused(HTTPStatus.FORBIDDEN, "forbidden", "you may not read tasks")
    tags = conn.execute(V1_TAGS_QUERY, [task_id]).fetchone()
    recurrence = conn.execute(V1_RECURRENCE_QUERY, [task_id]).fetchone()
    rule, next_at = recurrence if recurrence else (None, None)
    return _task(task_id, title, status, priority, tags[0] if tags else [], rule, next_at)


def _task(
    task_id: object,
    title: object,
    status: object,
    priority: object,
    tags: Sequence[str],
    rule: object,
    next_at: Any,
) -> dict[str, Any]:
    return {
        "id": plain_id(task_id),
        "title": title,
        "status": status,
        "priority": priority,
        "tags": list(tags),
        "recurrence": None if rule is None else {"rule": rule, "next_at": next_at.isoformat()},
    }


def create_task(conn: pg.Conn, user_id: object, form: dict[str, Any]) -> dict[str, Any]:
    """Insert a task (with tags named in ``tags``) for ``user_id``; return it."""
    title = _title(form.get("title"))
    status = _choice(form.get("status", "todo"), "status", STATUSES)
    priority = _choice(form.get("priority", 2), "priority", PRIORITIES)
    tags = form.get("tags", [])
    if not isinstance(tags, list) or len(tags) > TAGS_MAX:
        raise _bad(f"tags must be a list of at most {TAGS_MAX} tag names")
    if not all(isinstance(tag, str) for tag in tags):
        raise _bad("tags must be a list of tag names")
    with conn.transaction():
        row = conn.execute("SELECT nextval('task_id_seq')").fetchone()
        task_id = row[0] if row else None
        conn.execute(
            "INSERT INTO tasks (id, owner_id, title, status, priority) VALUES (%s, %s, %s, %s, %s)",
            [task_id, user_id, title, status, priority],
        )
        conn.execute(
            "INSERT INTO task_tags (task_id, tag_id) SELECT %s, id FROM tags WHERE name = ANY(%s)",
            [task_id, tags],
        )
    return {"id": plain_id(task_id), "title": title, "status": status, "priority": priority}


def update_task(
    conn: pg.Conn, user_id: object, task_id: str, form: dict[str, Any]
) -> dict[str, Any]:
    """Change the title, status or priority of one of ``user_id``'s tasks; return it."""
    if not TASK_ID.fullmatch(task_id):
        raise Refused(HTTPStatus.NOT_FOUND, "not_found", f"no task {task_id[:40]!r}")
    changes = {
        "title": _title(form["title"]) if "title" in form else None,
        "status": _choice(form["status"], "status", STATUSES) if "status" in form else None,
        "priority": _choice(form["priority"], "priority", PRIORITIES)
        if "priority" in form
        else None,
    }
    if all(value is None for value in changes.values()):
        raise _bad("give title, status or priority")
    row = conn.execute(
        "UPDATE tasks SET title = coalesce(%s, title), status = coalesce(%s, status),"
        " priority = coalesce(%s, priority), updated_at = now()"
        " WHERE owner_id = %s AND id::text = %s RETURNING id, title, status, priority",
        [changes["title"], changes["status"], changes["priority"], user_id, task_id.lower()],
    ).fetchone()
    if row is None:
        raise Refused(HTTPStatus.NOT_FOUND, "not_found", f"you have no task {task_id}")
    return {"id": plain_id(row[0]), "title": row[1], "status": row[2], "priority": row[3]}


def _title(value: object) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > TITLE_MAX:
        raise _bad(f"title must be text of 1 to {TITLE_MAX} characters")
    if "\x00" in value:  # PostgreSQL cannot store it: a 400 here, not a database error
        raise _bad("title must not contain NUL characters")
    return value.strip()


def _choice(value: object, name: str, allowed: Sequence[object]) -> Any:
    # bool is an int: True must not pass for priority 1.
    if isinstance(value, bool) or value not in allowed:
        raise _bad(f"{name} must be one of {', '.join(map(str, allowed))}")
    return value


def _bad(reason: str) -> Refused:
    return Refused(HTTPStatus.BAD_REQUEST, "bad_request", reason)
