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
    POST /api/tasks   JSON {title, status?, priority?, tags?: [name]}, with the session
                      201 {"task": {id, title, status, priority}}
    POST /api/tasks/<id>  (or PATCH) JSON {title?, status?, priority?}, with the session
                      200 {"task": {...}}; 404 when the user has no such task
    GET  /metrics     Prometheus metrics (metrics.py): requests by route and status,
                      latency by route, users seen and users with a 5xx in 5 minutes
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
- A refused login says why (unknown email, wrong password). A stored hash that is
  not a valid pbkdf2_sha256 hash (the migration's damage) is the server's fault,
  not the user's: 500, saying so, as a real hasher raising on it would. A real
  application would not tell strangers which; this one is a diagnostic target on
  localhost.
- The task routes (todo.py) are the application's code for the schema before
  MIG-002; on the broken database creates fail and lists get slower, from what
  the migration left (see todo.py), and recover with the restore.
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
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from http.cookies import CookieError, SimpleCookie
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

import psycopg

from demo_target import pg
from demo_target.metrics import CONTENT_TYPE, AppMetrics
from demo_target.passwords import is_valid_hash, verify_password
from demo_target.todo import Refused, Seen, create_task, list_tasks, session_user, update_task
from demo_target.todo import plain_id as _plain_id

HOST = "127.0.0.1"
DEFAULT_PORT = 8081
SESSION_COOKIE = "session"
SESSION_HOURS = 12
STATEMENT_TIMEOUT_MS = 5_000
MAX_BODY_BYTES = 16 * 1024
# The database's simulated distance, per statement (DistantConnection): 0 switches it off.
ROUND_TRIP_SECONDS = int(os.environ.get("DEMO_APP_DB_ROUND_TRIP_MS") or "3") / 1000
# The key format the sessions table holds (and the sessions_work validation expects).
_SESSION_ALPHABET = string.ascii_lowercase + string.digits
TASK_PREFIX = "/api/tasks/"
TASK_ROUTE = "/api/tasks/{id}"  # the metrics' route label: one series, whatever the id
logger = logging.getLogger(__name__)


class DistantConnection(pg.Conn):
    """A connection whose every statement first waits ``ROUND_TRIP_SECONDS``.

    A simulated network distance, the same for every statement in every state of
    the database: on localhost a round trip costs some 50 µs, where the application's
    database in staging or production is a network hop away, and what makes a
    query-per-row code path slow in real life (the v1 list's N+1, todo.py) is the
    round trips. Without it that cost would vanish in a test machine's noise; with it
    the broken target is slower only by the statements it really makes more of.
    """

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        time.sleep(ROUND_TRIP_SECONDS)
        return super().execute(*args, **kwargs)


def _connect(dsn: str) -> pg.Conn:
    conn = pg.connect(dsn, cls=DistantConnection)
    conn.execute(f"SET statement_timeout = {STATEMENT_TIMEOUT_MS}")
    return conn


def health(dsn: str) -> dict[str, Any]:
    with _connect(dsn) as conn:
        row = conn.execute("SELECT current_setting('transaction_read_only')").fetchone()
    return {"status": "ok", "database": "up", "read_only": bool(row and row[0] == "on")}


def login(dsn: str, email: str, password: str, seen: Seen | None = None) -> dict[str, Any]:
    """Verify the password against the stored hash, then open a session (a row in sessions).

    ``seen`` is told the email once it names a user (the metrics' active users)."""
    with _connect(dsn) as conn:
        row = conn.execute(
            "SELECT id, password_hash FROM users WHERE email = %s", [email]
        ).fetchone()
        if row is None:
            raise Refused(HTTPStatus.UNAUTHORIZED, "login_refused", "no user with this email")
        if seen is not None:
            seen(email)
        user_id, password_hash = row[0], str(row[1])
        if not is_valid_hash(password_hash):
            raise Refused(
                HTTPStatus.INTERNAL_SERVER_ERROR,
                "stored_hash_invalid",
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


def tasks(dsn: str, session: str | None, seen: Seen | None = None) -> dict[str, Any]:
    """The tasks of the session's user; Refused(401) without a live session."""
    with _connect(dsn) as conn:
        user_id = session_user(conn, session, seen)
        found = list_tasks(conn, user_id)
    return {"user_id": _plain_id(user_id), "tasks": found}


def new_task(
    dsn: str, session: str | None, form: dict[str, Any], seen: Seen | None = None
) -> dict[str, Any]:
    with _connect(dsn) as conn:
        return {"task": create_task(conn, session_user(conn, session, seen), form)}


def change_task(
    dsn: str, session: str | None, task_id: str, form: dict[str, Any], seen: Seen | None = None
) -> dict[str, Any]:
    with _connect(dsn) as conn:
        return {"task": update_task(conn, session_user(conn, session, seen), task_id, form)}


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

    # Set per request (a handler instance serves one connection's requests in turn).
    _route = "other"
    _user: str | None = None
    _started = 0.0

    def do_GET(self) -> None:
        self._begin()
        dsn = self.server.dsn
        routes: dict[str, Callable[[], object]] = {
            "/healthz": lambda: health(dsn),
            "/api/tasks": lambda: tasks(dsn, self._session(), self._seen),
            "/api/flags": lambda: flags(dsn),
            "/version": lambda: self.server.version,
        }
        path = self.path.split("?", 1)[0]
        if path == "/metrics":
            self._route = ""  # the scrape is not a request of the application's
            self._send_bytes(HTTPStatus.OK, self.server.metrics.exposition(), CONTENT_TYPE)
        elif path == "/login":
            self._route = path
            self._refuse(Refused(HTTPStatus.METHOD_NOT_ALLOWED, "method", "POST /login"))
        elif path not in routes:
            self._refuse(Refused(HTTPStatus.NOT_FOUND, "not_found", f"no route {path}"))
        else:
            self._route = path
            self._answer(routes[path])

    def do_POST(self) -> None:
        self._begin()
        dsn = self.server.dsn
        path = self.path.split("?", 1)[0]
        if path == "/login":
            self._route = path
            self._answer(self._login)
        elif path == "/api/tasks":
            self._route = path
            self._answer(
                lambda: new_task(dsn, self._session(), self._form(), self._seen),
                HTTPStatus.CREATED,
            )
        elif path.startswith(TASK_PREFIX) and "/" not in path.removeprefix(TASK_PREFIX):
            self._route = TASK_ROUTE
            task_id = path.removeprefix(TASK_PREFIX)
            self._answer(
                lambda: change_task(dsn, self._session(), task_id, self._form(), self._seen)
            )
        else:
            self._refuse(
                Refused(HTTPStatus.NOT_FOUND, "not_found", "POST to /login or /api/tasks[/<id>]")
            )

    do_PATCH = do_POST

    def _begin(self) -> None:
        self._started, self._route, self._user = time.perf_counter(), "other", None

    def _seen(self, user: str) -> None:
        self._user = user

    def _login(self) -> dict[str, Any]:
        form = self._form()
        email, password = form.get("email"), form.get("password")
        if not isinstance(email, str) or not isinstance(password, str) or not email:
            raise Refused(HTTPStatus.BAD_REQUEST, "bad_request", "give email and password")
        return login(self.server.dsn, email, password, self._seen)

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

    def _answer(self, produce: Callable[[], object], status: HTTPStatus = HTTPStatus.OK) -> None:
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
        self._send(status, document, cookie)

    def _refuse(self, refused: Refused) -> None:
        document: dict[str, Any] = {"error": refused.error, "reason": refused.reason}
        if self.path.startswith("/healthz"):
            document = {"status": "unavailable", "database": "down", **document}
        self._send(refused.status, document)

    def _send(self, status: HTTPStatus, document: object, cookie: str | None = None) -> None:
        self._send_bytes(status, json.dumps(document).encode(), "application/json", cookie)

    def _send_bytes(
        self, status: HTTPStatus, data: bytes, content_type: str, cookie: str | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        if cookie:
            self.send_header("Set-Cookie", cookie)
        self.end_headers()
        self.wfile.write(data)
        if self._route:  # counted once the answer is written: its time is the client's wait
            elapsed = time.perf_counter() - self._started
            self.server.metrics.observe(self._route, status, elapsed, self._user)

    def log_message(self, format: str, *args: Any) -> None:
        logger.info("demo app: " + format, *args)


class DemoAppServer(ThreadingHTTPServer):
    daemon_threads = True  # a hung request must not keep the process alive at exit

    def __init__(
        self,
        dsn: str,
        port: int,
        release: dict[str, str | None] | None = None,
        metrics: AppMetrics | None = None,
    ) -> None:
        super().__init__((HOST, port), Handler)
        self.dsn = dsn
        self.metrics = metrics or AppMetrics()  # a registry of this server's own
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
