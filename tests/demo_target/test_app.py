"""The demo todo application, served on a thread over a real demo target database."""

from __future__ import annotations

import json
import re
import socket
import urllib.request
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from demo_target import app as demo_app
from demo_target import apply_bad_migration, restore_backup, take_backup
from runbooks.executors.http import send


class Answer:
    def __init__(self, status: int, headers: Any, body: bytes) -> None:
        self.status, self.headers = status, headers
        self.json: Any = json.loads(body) if body else None

    @property
    def cookie(self) -> str:
        return str(self.headers.get("Set-Cookie", ""))


def call(url: str, *, form: Any = None, body: bytes | None = None, **headers: str) -> Answer:
    """One request to the app (through the executor's opener: no proxy, no redirects)."""
    if form is not None:
        body = json.dumps(form).encode()
        headers.setdefault("Content_Type", "application/json")
    request = urllib.request.Request(
        url,
        data=body,
        method="POST" if body is not None else "GET",
        headers={name.replace("_", "-"): value for name, value in headers.items()},
    )
    response = send(request, timeout=10)
    return Answer(response.status, response.headers, response.body)


@pytest.fixture
def app(target) -> Iterator[demo_app.RunningApp]:
    running = demo_app.start(target, port=0)
    yield running
    running.stop()


def login(app, email="demo100@todo.example", password="demo-password-100") -> Answer:
    return call(f"{app.url}/login", form={"email": email, "password": password})


def test_app_binds_the_loopback_interface_only(app):
    assert app.server.server_address[0] == "127.0.0.1"
    assert app.url.startswith("http://127.0.0.1:")


def test_app_login_opens_a_live_session(app, target):
    answer = login(app)

    assert answer.status == 200
    assert answer.json["user_id"] == 100
    key = answer.json["session"]
    assert re.fullmatch(r"[a-z0-9]{32}", key)  # the key format sessions_work expects
    assert answer.cookie.startswith(f"session={key};") and "HttpOnly" in answer.cookie
    with psycopg.connect(target) as conn:
        row = conn.execute(
            "SELECT user_id, expires_at > now() FROM sessions WHERE key = %s", [key]
        ).fetchone()
    assert row == (100, True)


def test_app_login_accepts_a_form_body(app):
    answer = call(
        f"{app.url}/login",
        body=b"email=demo200%40todo.example&password=demo-password-200",
        Content_Type="application/x-www-form-urlencoded",
    )
    assert (answer.status, answer.json["user_id"]) == (200, 200)


@pytest.mark.parametrize(
    ("email", "password", "reason"),
    [
        ("demo100@todo.example", "demo-password-200", "wrong password"),
        ("nobody@todo.example", "demo-password-100", "no user with this email"),
    ],
)
def test_app_login_refuses_bad_credentials_with_a_reason(app, target, email, password, reason):
    with psycopg.connect(target) as conn:
        (sessions,) = conn.execute("SELECT count(*) FROM sessions").fetchone() or (0,)

    answer = login(app, email, password)

    assert (answer.status, answer.json) == (401, {"error": "login_refused", "reason": reason})
    assert "Set-Cookie" not in answer.headers
    with psycopg.connect(target) as conn:
        assert conn.execute("SELECT count(*) FROM sessions").fetchone() == (sessions,)


def test_app_login_fails_on_a_hash_the_migration_truncated(app, target):
    apply_bad_migration(target)

    damaged = login(app, "demo200@todo.example", "demo-password-200")
    intact = login(app)

    # A stored hash the server cannot read is the server's fault: 500, saying why.
    assert (damaged.status, damaged.json["error"]) == (500, "stored_hash_invalid")
    assert damaged.json["reason"] == "the stored password hash is not a valid pbkdf2_sha256 hash"
    # demo100's hash survived; after the migration its id is a UUID, shown as one.
    assert intact.status == 200 and len(intact.json["user_id"]) == 36


def test_app_login_without_credentials_is_a_bad_request(app):
    assert call(f"{app.url}/login", form={"email": "demo100@todo.example"}).status == 400
    broken = call(f"{app.url}/login", body=b"{", Content_Type="application/json")
    assert (broken.status, broken.json["reason"]) == (400, "the body is not a JSON object")
    huge = call(f"{app.url}/login", body=b"x" * (demo_app.MAX_BODY_BYTES + 1))
    assert (huge.status, huge.json["error"]) == (413, "too_large")


def test_app_tasks_are_the_session_users_tasks(app, target):
    session = login(app).json["session"]

    by_cookie = call(f"{app.url}/api/tasks", Cookie=f"session={session}")
    by_bearer = call(f"{app.url}/api/tasks", Authorization=f"Bearer {session}")

    assert by_cookie.status == 200 and by_cookie.json == by_bearer.json
    assert by_cookie.json["user_id"] == 100
    with psycopg.connect(target) as conn:
        owned = conn.execute(
            "SELECT t.id, t.title, t.status, t.priority,"
            " coalesce(array_agg(g.name ORDER BY g.name) FILTER (WHERE g.name IS NOT NULL), '{}'),"
            " r.rule FROM tasks t LEFT JOIN task_tags tt ON tt.task_id = t.id"
            " LEFT JOIN tags g ON g.id = tt.tag_id LEFT JOIN recurrences r ON r.task_id = t.id"
            " WHERE t.owner_id = 100 GROUP BY t.id, r.rule ORDER BY t.id"
        ).fetchall()
    tasks = by_cookie.json["tasks"]
    assert owned, "demo100 owns tasks in the generated data"
    assert [
        (
            t["id"],
            t["title"],
            t["status"],
            t["priority"],
            t["tags"],
            (t["recurrence"] or {}).get("rule"),
        )
        for t in tasks
    ] == [(i, title, s, p, list(tags), rule) for i, title, s, p, tags, rule in owned]
    assert all(set(t) == {"id", "title", "status", "priority", "tags", "recurrence"} for t in tasks)


def test_app_tasks_without_a_live_session_are_refused(app, target):
    assert call(f"{app.url}/api/tasks").json == {
        "error": "no_session",
        "reason": "log in first (POST /login)",
    }
    unknown = call(f"{app.url}/api/tasks", Cookie="session=" + "x" * 32)
    assert (unknown.status, unknown.json["reason"]) == (401, "the session is unknown or expired")
    session = login(app).json["session"]
    with psycopg.connect(target) as conn:
        conn.execute(
            "UPDATE sessions SET expires_at = now() - interval '1 s' WHERE key = %s", [session]
        )
    assert call(f"{app.url}/api/tasks", Cookie=f"session={session}").status == 401


def test_app_flags_are_off_until_the_migration_and_off_again_after_a_restore(app, target, tmp_path):
    backup = take_backup(target, tmp_path / "pre_migration.backup")
    assert call(f"{app.url}/api/flags").json == {"api_v1": False, "uuid_ids": False}

    apply_bad_migration(target)
    assert call(f"{app.url}/api/flags").json == {"api_v1": True, "uuid_ids": True}

    restore_backup(target, backup)
    assert call(f"{app.url}/api/flags").json == {"api_v1": False, "uuid_ids": False}


def test_app_keeps_reading_while_the_database_is_read_only(app, target):
    session = login(app).json["session"]
    with psycopg.connect(target, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{conn.info.dbname}" SET default_transaction_read_only = on')

    health = call(f"{app.url}/healthz")
    listed = call(f"{app.url}/api/tasks", Cookie=f"session={session}")
    refused = login(app)

    assert (health.status, health.json) == (
        200,
        {"status": "ok", "database": "up", "read_only": True},
    )
    assert listed.status == 200 and listed.json["user_id"] == 100
    assert call(f"{app.url}/api/flags").status == 200
    assert (refused.status, refused.json) == (
        503,
        {
            "error": "read_only",
            "reason": "the database is read-only (writes are stopped for the rollback)",
        },
    )


def test_app_answers_503_with_a_reason_when_its_database_is_down():
    running = demo_app.start("postgres://postgres@127.0.0.1:1/todo_demo", port=0)
    try:
        health = call(f"{running.url}/healthz")
        flags = call(f"{running.url}/api/flags")
        login_down = login(running)
    finally:
        running.stop()

    assert health.status == 503
    assert health.json["status"] == "unavailable" and health.json["database"] == "down"
    assert health.json["error"] == "database_unavailable"
    assert health.json["reason"].startswith("cannot connect to ")
    assert (flags.status, flags.json["error"]) == (503, "database_unavailable")
    assert (login_down.status, login_down.json["error"]) == (503, "database_unavailable")
    assert "Traceback" not in json.dumps([health.json, flags.json, login_down.json])


def test_app_says_when_the_database_is_not_the_demo_target(app, target):
    with psycopg.connect(target) as conn:
        conn.execute("DROP TABLE feature_flags")
    answer = call(f"{app.url}/api/flags")
    assert (answer.status, answer.json["error"]) == (503, "database_schema")
    assert "feature_flags" in answer.json["reason"]


def test_app_unknown_routes_and_methods_answer_json(app):
    assert call(f"{app.url}/nope").status == 404
    assert call(f"{app.url}/login").status == 405
    assert call(f"{app.url}/api/flags", body=b"").status == 404
    assert call(f"{app.url}/api/tasks/1/x", body=b"").status == 404


def test_app_refuses_a_negative_content_length_instead_of_waiting(app):
    port = app.server.server_address[1]
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"POST /login HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n")
        head = conn.recv(4096).decode()
    assert head.startswith("HTTP/1.0 400 ")
