"""The demo todo application: a small JSON API over the demo target database.

It exists so that MIG-002's checks talk to an application, as they would in
staging or production, instead of emulating one against its database::

    GET  /healthz     200 {"status": "ok", "database": "up", "read_only": false}
                      503 {"status": "unavailable", "database": "down", "reason": "..."}
    POST /login       JSON or form: email, password
                      200 {"user_id": 100, "session": "<token>"} and a ``session`` cookie
                      401 {"error": "login_refused", "reason": "..."}
    GET  /api/tasks   with the session (cookie ``session`` or ``Authorization: Bearer``)
                      200 {"user_id": 100, "tasks": [{id, title, status, priority,
                      tags, recurrence}]}; 401 without a live session
    GET  /api/flags   200 {"api_v1": false, "uuid_ids": false} (the feature_flags table)
    GET  /version     200 {"version": "v1.4.2", "revision": "<commit>", "pid": 1234,
                      "started_at": "..."}: the release this process was started from
                      (``supervisor.py`` runs it from the deploy folder's ``current``;
                      version and revision are null for an app started without one)

Why it is built this way:

- Standard library HTTP (``http.server``, one thread per request) and psycopg:
  nothing to install, and it binds 127.0.0.1 only: the demo accounts' passwords
  are published, so nothing beyond this machine may reach it.
- One database connection per request, no pool: "Stop all write operations"
  terminates every open session and a restore replaces the tables, and a fresh
  connection simply sees whatever the database is now. Queries carry a statement
  timeout, so a request that meets the restore's locks answers 503 instead of hanging.
- Reads keep working while the rollback holds the database read-only; a login,
  which must write its session row, answers 503 saying the database is read-only.
  Every database failure is a JSON 503 with the reason, never a traceback.
- A refused login says why (unknown email, wrong password, a stored hash that is
  not a valid pbkdf2_sha256 hash — the migration's damage). A real application
  would not tell strangers which; this one is a diagnostic target on localhost.
- Ids are whatever the database holds: integers before MIG-002, UUIDs (as
  strings) after it, so the API shows the migration rather than hiding it.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import string
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs
from uuid import UUID

import psycopg

from demo_target import pg
from demo_target.passwords import is_valid_hash, verify_password

HOST = "127.0.0.1"
DEFAULT_PORT = 8081
SESSION_COOKIE = "session"
SESSION_HOURS = 12
STATEMENT_TIMEOUT_MS = 5_000
MAX_BODY_BYTES = 16 * 1024
# The key format the sessions table holds (and the sessions_work validation expects).
_SESSION_ALPHABET = string.ascii_lowercase + string.digits
logger = logging.getLogger(__name__)

TASKS_QUERY = """
SELECT t.id, t.title, t.status, t.priority,
       coalesce((SELECT array_agg(g.name ORDER BY g.name) FROM task_tags tt
                 JOIN tags g ON g.id = tt.tag_id WHERE tt.task_id = t.id), '{}'),
       r.rule, r.next_at
FROM tasks t LEFT JOIN recurrences r ON r.task_id = t.id
WHERE t.owner_id = %s ORDER BY t.id
"""


class Refused(Exception):
    """A request answered with a client or service error: its status and reason."""

    def __init__(self, status: HTTPStatus, error: str, reason: str) -> None:
        super().__init__(reason)
        self.status, self.error, self.reason = status, error, reason


def _connect(dsn: str) -> pg.Conn:
    conn = pg.connect(dsn)
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    return conn


def _plain_id(value: object) -> object:
    return str(value) if isinstance(value, UUID) else value


def health(dsn: str) -> dict[str, Any]:
    with _connect(dsn) as conn:
        row = conn.execute("SELECT current_setting('transaction_read_only')").fetchone()
    return {"status": "ok", "database": "up", "read_only": bool(row and row[0] == "on")}


def login(dsn: str, email: str, password: str) -> dict[str, Any]:
    """Verify the password against the stored hash, then open a session (a row in sessions)."""
    with _connect(dsn) as conn:
        row = conn.execute(
            "SELECT id, password_hash FROM users WHERE email = %s", [email]
        ).fetchone()
        if row is None:
            raise Refused(HTTPStatus.UNAUTHORIZED, "login_refused", "no user with this email")
        user_id, password_hash = row[0], str(row[1])
        if not is_valid_hash(password_hash):
            raise Refused(
                HTTPStatus.UNAUTHORIZED,
                "login_refused",
                "the stored password hash is not a valid pbkdf2_sha256 hash",
            )
        if not verify_password(password, password_hash):
            raise Refused(HTTPStatus.UNAUTHORIZED, "login_refused", "wrong password")
        key = "".join(secrets.choice(_SESSION_ALPHABET) for _ in range(32))
        conn.execute(
            "INSERT INTO sessions (key, user_id, expires_at)"
            " VALUES (%s, %s, now() + make_interval(hours => %s))",
            [key, user_id, SESSION_HOURS],
        )
    return {"user_id": _plain_id(user_id), "session": key}


def tasks(dsn: str, session: str | None) -> dict[str, Any]:
    """The tasks of the session's user; Refused(401) without a live session."""
    if not session:
        raise Refused(HTTPStatus.UNAUTHORIZED, "no_session", "log in first (POST /login)")
    with _connect(dsn) as conn:
        row = conn.execute(
            "SELECT user_id FROM sessions WHERE key = %s AND expires_at > now()", [session]
        ).fetchone()
        if row is None:
            raise Refused(
                HTTPStatus.UNAUTHORIZED, "no_session", "the session is unknown or expired"
            )
        user_id = row[0]
        found = conn.execute(TASKS_QUERY, [user_id]).fetchall()
    return {
        "user_id": _plain_id(user_id),
        "tasks": [
            {
                "id": _plain_id(task_id),
                "title": title,
                "status": status,
                "priority": priority,
                "tags": list(tags),
                "recurrence": None
                if rule is None
                else {"rule": rule, "next_at": next_at.isoformat()},
            }
            for task_id, title, status, priority, tags, rule, next_at in found
        ],
    }


def flags(dsn: str) -> dict[str, bool]:
    with _connect(dsn) as conn:
        rows = conn.execute("SELECT name, enabled FROM feature_flags ORDER BY name").fetchall()
    return {str(name): bool(enabled) for name, enabled in rows}


def database_refusal(exc: Exception) -> Refused | None:
    """The 503 a database failure answers with, or None when it is not one."""
    unavailable = HTTPStatus.SERVICE_UNAVAILABLE
    if isinstance(exc, pg.TargetUnavailable):
        return Refused(unavailable, "database_unavailable", str(exc))
    if isinstance(exc, psycopg.errors.ReadOnlySqlTransaction):
        reason = "the database is read-only (writes are stopped for the rollback)"
        return Refused(unavailable, "read_only", reason)
    if isinstance(exc, psycopg.errors.QueryCanceled):
        reason = f"the database did not answer within {STATEMENT_TIMEOUT_MS // 1000} s (busy?)"
        return Refused(unavailable, "database_busy", reason)
    if isinstance(exc, psycopg.errors.UndefinedTable | psycopg.errors.UndefinedColumn):
        reason = f"the database does not look like the demo target: {_first_line(exc)}"
        return Refused(unavailable, "database_schema", reason)
    if isinstance(exc, psycopg.Error):
        return Refused(unavailable, "database_error", f"{type(exc).__name__}: {_first_line(exc)}")
    return None


def _first_line(exc: Exception) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


class Handler(BaseHTTPRequestHandler):
    server: DemoAppServer
    server_version = "todo-demo/1.0"

    def do_GET(self) -> None:
        routes = {
            "/healthz": lambda: health(self.server.dsn),
            "/api/tasks": lambda: tasks(self.server.dsn, self._session()),
            "/api/flags": lambda: flags(self.server.dsn),
            "/version": lambda: self.server.version,
        }
        path = self.path.split("?", 1)[0]
        if path == "/login":
            self._refuse(Refused(HTTPStatus.METHOD_NOT_ALLOWED, "method", "POST /login"))
        elif path not in routes:
            self._refuse(Refused(HTTPStatus.NOT_FOUND, "not_found", f"no route {path}"))
        else:
            self._answer(routes[path])

    def do_POST(self) -> None:
        if self.path.split("?", 1)[0] != "/login":
            self._refuse(Refused(HTTPStatus.NOT_FOUND, "not_found", "POST only to /login"))
            return
        self._answer(self._login)

    def _login(self) -> dict[str, Any]:
        form = self._form()
        email, password = form.get("email"), form.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email:
            raise Refused(HTTPStatus.BAD_REQUEST, "bad_request", "give email and password")
        return login(self.server.dsn, email, password)

    def _form(self) -> dict[str, Any]:
        text = self.headers.get("Content-Length") or "0"
        # A negative length would read until the client hangs up: refuse it like garbage.
        if not text.isdigit():
            raise Refused(HTTPStatus.BAD_REQUEST, "bad_request", "a Content-Length is required")
        length = int(text)
        if length > MAX_BODY_BYTES:
            raise Refused(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "too_large", "body too large")
        body = self.rfile.read(length).decode("utf-8", errors="replace")
        if self.headers.get_content_type() == "application/json":
            try:
                document = json.loads(body or "{}")
            except ValueError:
                document = None
            if not isinstance(document, dict):
                raise Refused(
                    HTTPStatus.BAD_REQUEST, "bad_request", "the body is not a JSON object"
                )
            return document
        return {name: values[0] for name, values in parse_qs(body).items()}

    def _session(self) -> str | None:
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            return authorization.removeprefix("Bearer ").strip() or None
        try:
            cookie = SimpleCookie(self.headers.get("Cookie", ""))
        except CookieError:
            return None
        morsel = cookie.get(SESSION_COOKIE)
        return morsel.value if morsel else None

    def _answer(self, produce: Callable[[], object]) -> None:
        try:
            document = produce()
        except Refused as exc:
            self._refuse(exc)
            return
        except Exception as exc:
            refusal = database_refusal(exc)
            if refusal is None:
                logger.exception("demo app: %s %s crashed", self.command, self.path)
                refusal = Refused(HTTPStatus.INTERNAL_SERVER_ERROR, "internal", type(exc).__name__)
            self._refuse(refusal)
            return
        cookie = None
        if isinstance(document, dict) and "session" in document:
            cookie = (
                f"{SESSION_COOKIE}={document['session']}; Path=/; HttpOnly; SameSite=Lax;"
                f" Max-Age={SESSION_HOURS * 3600}"
            )
        self._send(HTTPStatus.OK, document, cookie)

    def _refuse(self, refused: Refused) -> None:
        document: dict[str, Any] = {"error": refused.error, "reason": refused.reason}
        if self.path.startswith("/healthz"):
            document = {"status": "unavailable", "database": "down", **document}
        self._send(refused.status, document)

    def _send(self, status: HTTPStatus, document: object, cookie: str | None = None) -> None:
        data = json.dumps(document).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("demo app: " + format, *args)


class DemoAppServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung request must not keep the process alive at exit

    def __init__(self, dsn: str, port: int, release: dict[str, str | None] | None = None) -> None:
        super().__init__((HOST, port), Handler)
        self.dsn = dsn
        # Read once, at start: a process reports the release it runs, not what was deployed since.
        self.version: dict[str, object] = {
            "version": None,
            "revision": None,
            **(release or {}),
            "pid": os.getpid(),
            "started_at": datetime.now(UTC).isoformat(),
        }

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}"


@dataclass
class RunningApp:
    server: DemoAppServer
    thread: threading.Thread

    @property
    def url(self) -> str:
        return self.server.url

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def start(dsn: str, port: int = DEFAULT_PORT) -> RunningApp:
    """Serve the app on a daemon thread (port 0: any free port); OSError if the port is taken."""
    server = DemoAppServer(dsn, port)
    thread = threading.Thread(target=server.serve_forever, name="demo-app", daemon=True)
    thread.start()
    return RunningApp(server, thread)


def target_problem(dsn: str) -> str | None:
    """Why the app cannot serve ``dsn`` yet (no server, no database, a bad DSN), or None."""
    try:
        pg.connect(dsn).close()
    except pg.TargetError as exc:  # unreachable, missing, or a DSN that cannot be parsed
        return str(exc)
    return None
