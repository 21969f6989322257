"""The login family: real logins against the demo application, over the real demo target.

The accounts are MIG-002's demo environment's SMOKE_TEST_ACCOUNTS (see conftest), which the
check reads by default.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg
import pytest

from runbooks.checks import CheckContext, CheckError, run_check, validate_check
from validation.checks.login import parse_accounts


def login(env, **params):
    return run_check("login", params, env, CheckContext(timeout_seconds=10))


def sessions(target) -> int:
    with psycopg.connect(target.dsn) as conn:
        row = conn.execute("SELECT count(*) FROM sessions").fetchone()
    return int(row[0]) if row else 0


def test_login_demo_accounts_log_in_through_the_app_and_see_their_tasks(target):
    opened = sessions(target)

    outcome = login(target.env)

    assert (outcome.result, outcome.summary) == (
        "pass",
        "3 accounts log in and see their tasks"
        " (demo100@todo.example, demo200@todo.example, demo300@todo.example)",
    )
    assert outcome.evidence["ran"] == (
        "POST ${APP_URL}/login, then GET ${APP_URL}/api/tasks, as each of 3 account(s)"
        " (from SMOKE_TEST_ACCOUNTS)"
    )
    assert outcome.evidence["expected"] == {"accounts_logging_in": 3}
    accounts = outcome.evidence["seen"]["accounts"]
    assert [(a["email"], a["login_status"], a["tasks_status"], a["ok"]) for a in accounts] == [
        (f"demo{n}@todo.example", 200, 200, True) for n in (100, 200, 300)
    ]
    with psycopg.connect(target.dsn) as conn:
        owned = conn.execute("SELECT count(*) FROM tasks WHERE owner_id = 100").fetchone()
    assert owned is not None and accounts[0]["tasks"] == owned[0]
    assert sessions(target) == opened + 3  # each login really opened a session in the app


def test_login_damaged_hash_fails_naming_the_account_and_the_apps_reason(target):
    with psycopg.connect(target.dsn) as conn:
        conn.execute("UPDATE users SET password_hash = left(password_hash, 64) WHERE id = 200")

    outcome = login(target.env)

    assert outcome.result == "fail"
    assert outcome.summary == (
        "1 of 3 accounts cannot log in: demo200@todo.example: POST /login answered 500"
        " (the stored password hash is not a valid pbkdf2_sha256 hash)"
    )
    [account] = [a for a in outcome.evidence["seen"]["accounts"] if not a["ok"]]
    assert (account["email"], account["login_status"], account["tasks_status"]) == (
        "demo200@todo.example",
        500,
        None,
    )
    assert outcome.evidence["seen"]["accounts_logging_in"] == 2
    assert "demo-password" not in json.dumps(outcome.evidence)


def test_login_evidence_never_holds_passwords_or_session_tokens(target):
    outcome = login(target.env)
    with psycopg.connect(target.dsn) as conn:
        keys = [row[0] for row in conn.execute("SELECT key FROM sessions")]
    shown = json.dumps(outcome.evidence) + outcome.summary
    assert "demo-password" not in shown
    assert not [key for key in keys if key in shown]


def test_login_tries_the_accounts_of_the_variable_it_names(target):
    env = {**target.env, "SMOKE": "demo100@todo.example:demo-password-100\nnobody@x:pw"}
    outcome = login(env, accounts_env="SMOKE")
    assert outcome.result == "fail"
    assert outcome.evidence["differences"] == [
        "nobody@x: POST /login answered 401 (no user with this email)"
    ]
    assert outcome.evidence["source"] == "from SMOKE"


def test_login_without_accounts_is_an_error_not_a_pass(target):
    outcome = login({**target.env, "SMOKE_TEST_ACCOUNTS": " , "})
    assert (outcome.result, outcome.summary) == (
        "error",
        "0 account(s) to try (from SMOKE_TEST_ACCOUNTS), 1 needed",
    )
    unset = login(target.env, accounts_env="SMOKE")
    assert (unset.result, unset.summary) == (
        "error",
        "the variable SMOKE holding the accounts to try is not set",
    )


def test_login_unreachable_app_is_an_error_naming_the_url(target):
    outcome = login({**target.env, "APP_URL": "http://127.0.0.1:1"})
    assert outcome.result == "error"
    assert outcome.summary.startswith("login: http: POST failed: ")
    assert outcome.evidence["ran"].startswith("POST ${APP_URL}/login")
    unset = login({"SMOKE_TEST_ACCOUNTS": target.env["SMOKE_TEST_ACCOUNTS"]})
    assert (unset.result, unset.summary) == ("error", "login: http: no variable named APP_URL")


def test_login_while_the_database_is_read_only_fails_with_the_apps_reason(target):
    with psycopg.connect(target.dsn, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{target.dbname}" SET default_transaction_read_only = on')
    try:
        outcome = login(target.env)
    finally:  # as "Restart services" lifts it: through a session that may write
        with psycopg.connect(
            target.dsn, autocommit=True, options="-c default_transaction_read_only=off"
        ) as conn:
            conn.execute(f'ALTER DATABASE "{target.dbname}" RESET default_transaction_read_only')
    assert outcome.result == "fail"
    assert outcome.evidence["differences"][0] == (
        "demo100@todo.example: POST /login answered 503"
        " (the database is read-only (writes are stopped for the rollback))"
    )


class OtherUsersTasks(BaseHTTPRequestHandler):
    """An application honouring the contract's shape, with a token and no cookie,
    that lists somebody else's tasks."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.reply({"user_id": 7, "session": "t0ken"})

    def do_GET(self) -> None:
        if self.headers.get("Authorization") != "Bearer t0ken":
            self.send_response(401)
            self.end_headers()
            return
        self.reply({"user_id": 8, "tasks": [{"id": 1, "title": "not yours"}]})

    def reply(self, document: object) -> None:
        data = json.dumps(document).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def other_app() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), OtherUsersTasks)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_login_fails_when_the_app_lists_another_users_tasks(other_app):
    env = {"APP_URL": other_app, "SMOKE": "someone@x:pw"}
    outcome = login(env, accounts_env="SMOKE")
    assert outcome.result == "fail"
    assert outcome.evidence["differences"] == [
        "someone@x: GET /api/tasks answered for user 8, not 7"
    ]
    assert "t0ken" not in json.dumps(outcome.evidence)


def test_login_parse_accounts_never_echoes_an_entry():
    assert parse_accounts("a@x:p:w, b@x:q", "V") == [("a@x", "p:w"), ("b@x", "q")]
    with pytest.raises(CheckError, match="entry 2 is not email:password") as caught:
        parse_accounts("a@x:pw\nsecret-without-colon", "V")
    assert "secret" not in str(caught.value)


def test_login_validate_requires_a_variable_of_accounts():
    assert validate_check("login", {}) == []
    assert validate_check("login", {"app_url": "${APP_URL}", "accounts_env": "SMOKE"}) == []
    assert any("'accounts_env'" in p for p in validate_check("login", {"accounts_env": ""}))
    # The demo fixture's own accounts are no longer the check's business.
    assert any("demo_accounts" in p for p in validate_check("login", {"demo_accounts": True}))
    assert any("'min_accounts'" in p for p in validate_check("login", {"min_accounts": 0}))
    assert any("'app_url'" in p for p in validate_check("login", {"app_url": ""}))
