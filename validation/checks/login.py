"""login checks: "logins to the application work", against the application.

Params::

    app_url: ${APP_URL}                # default; the application's base URL, filled from
                                       # the environment's variables like an http check's url
    accounts_env: SMOKE_TEST_ACCOUNTS  # default; the variable (or secret) of the runbook's
                                       # environment holding the accounts to try,
                                       # ``email:password`` one per line (or comma-separated)
    min_accounts: 1                    # fewer accounts to try is an error, never a pass

The contract an application must honour (the demo todo application does; a
staging or production app behind the same ``APP_URL`` can)::

    POST <app_url>/login   JSON {"email": ..., "password": ...}
        200 JSON {"user_id": <id>, "session": <token>} and/or session cookies (Set-Cookie)
        anything else: refused; a JSON body's "reason" (or "error") says why
    GET <app_url>/api/tasks   with the cookies /login set, else ``Authorization: Bearer <token>``
        200 JSON {"user_id": <the same id>, "tasks": [{"id": ..., "title": ..., ...}, ...]}

An account passes when both answer 200 and the tasks are a list of tasks for the
user who logged in. Which accounts is the environment's to say: staging and
production give smoke accounts as a secret, a demo environment may list its
published demo accounts as a plain variable. Evidence lists, per account,
the email, both statuses, the number of tasks and why it failed; passwords and
session tokens never leave this module. Each login opens a session on the
application, as any login does: the one check that writes (a row in ``sessions``).
Whether the stored hashes and sessions are sound is asked of the database directly
by the runbook's sql checks.

An application that cannot be reached is an ``error`` (nothing was judged); one
that answers but refuses a login is a ``fail`` naming the account and the reason.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections.abc import Mapping
from typing import Any

from runbooks.executors.base import ExecutorError
from runbooks.executors.http import Response, fill, send
from validation.checks.base import (
    CheckContext,
    CheckError,
    CheckOutcome,
    evidence,
    register,
    unknown_keys,
)

KEYS = {"app_url", "accounts_env", "min_accounts"}
DEFAULT_APP_URL = "${APP_URL}"
DEFAULT_ACCOUNTS_ENV = "SMOKE_TEST_ACCOUNTS"
REASON_CHARS = 200


@register("login")
class LoginCheck:
    kind = "login"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        problems = unknown_keys(params, KEYS, "login")
        app_url = params.get("app_url", DEFAULT_APP_URL)
        if not isinstance(app_url, str) or not app_url:
            problems.append("login: 'app_url' must be the application's base URL")
        accounts_env = params.get("accounts_env", DEFAULT_ACCOUNTS_ENV)
        if not isinstance(accounts_env, str) or not accounts_env:
            problems.append("login: 'accounts_env' must name a variable")
        minimum = params.get("min_accounts", 1)
        if type(minimum) is not int or minimum < 1:
            problems.append("login: 'min_accounts' must be a whole number of at least 1")
        return problems

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        template = str(params.get("app_url", DEFAULT_APP_URL)).rstrip("/")
        accounts, source = _accounts(params, env)
        ran = (
            f"POST {template}/login, then GET {template}/api/tasks,"
            f" as each of {len(accounts)} account(s) ({source})"
        )
        minimum = params.get("min_accounts", 1)
        if len(accounts) < minimum:
            raise CheckError(
                f"{len(accounts)} account(s) to try ({source}), {minimum} needed", ran=ran
            )
        try:
            base = fill(template, env).rstrip("/")
        except ExecutorError as exc:
            raise CheckError(f"login: {exc}", ran=ran) from exc
        if not base.startswith(("http://", "https://")):
            raise CheckError(f"login: {template} is not an http:// or https:// URL", ran=ran)
        deadline = time.monotonic() + context.timeout_seconds
        tried = []
        for email, password in accounts:
            try:
                tried.append(_try_account(base, email, password, deadline))
            except ExecutorError as exc:  # the app cannot be reached: nothing was judged
                raise CheckError(f"login: {exc}", ran=ran) from exc
        failed = [account for account in tried if not account["ok"]]
        differences = [f"{account['email']}: {account['problem']}" for account in failed]
        proof = evidence(
            ran,
            {"accounts_logging_in": len(tried)},
            {"accounts_logging_in": len(tried) - len(failed), "accounts": tried},
            differences,
            source=source,
        )
        if failed:
            summary = f"{len(failed)} of {len(tried)} accounts cannot log in: " + "; ".join(
                differences[:3]
            )
            return CheckOutcome("fail", summary, proof)
        emails = ", ".join(email for email, _ in accounts[:3])
        more = ", …" if len(tried) > 3 else ""
        return CheckOutcome(
            "pass", f"{len(tried)} accounts log in and see their tasks ({emails}{more})", proof
        )


def _try_account(base: str, email: str, password: str, deadline: float) -> dict[str, Any]:
    """Log in as one account, then list its tasks with the session the login gave."""
    tried: dict[str, Any] = {"email": email, "login_status": None, "tasks_status": None}
    body = json.dumps({"email": email, "password": password}).encode()
    logged_in = _request(base + "/login", deadline, data=body)
    tried["login_status"] = logged_in.status
    document = _json(logged_in)
    if logged_in.status != 200:
        return _failed(tried, f"POST /login answered {logged_in.status} ({_why(logged_in)})")
    headers = _session_headers(logged_in, document)
    if not headers:
        return _failed(tried, "POST /login answered 200 without a session (no cookie, no token)")
    listed = _request(base + "/api/tasks", deadline, headers=headers)
    tried["tasks_status"] = listed.status
    if listed.status != 200:
        return _failed(
            tried, f"GET /api/tasks with its session answered {listed.status} ({_why(listed)})"
        )
    found = _json(listed)
    tasks = found.get("tasks") if isinstance(found, dict) else None
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and "id" in t for t in tasks):
        return _failed(tried, "GET /api/tasks did not answer a list of tasks")
    tried["tasks"] = len(tasks)
    user_id = document.get("user_id") if isinstance(document, dict) else None
    if user_id is not None and found.get("user_id") != user_id:
        return _failed(
            tried, f"GET /api/tasks answered for user {found.get('user_id')}, not {user_id}"
        )
    return {**tried, "ok": True, "problem": None}


def _failed(tried: dict[str, Any], problem: str) -> dict[str, Any]:
    return {**tried, "ok": False, "problem": problem}


def _request(
    url: str, deadline: float, *, data: bytes | None = None, headers: dict[str, str] | None = None
) -> Response:
    remaining = deadline - time.monotonic()
    if remaining <= 0:
        raise ExecutorError("ran out of time before every account was tried")
    request = urllib.request.Request(
        url,
        data=data,
        method="POST" if data is not None else "GET",
        headers={
            "Accept": "application/json",
            "User-Agent": "ripcord-check",
            **({"Content-Type": "application/json"} if data is not None else {}),
            **(headers or {}),
        },
    )
    return send(request, timeout=remaining)


def _json(response: Response) -> Any:
    try:
        return json.loads(response.body.decode("utf-8", errors="replace"))
    except ValueError:
        return None


def _why(response: Response) -> str:
    """The application's own reason for an answer, short: JSON reason or error, else the body."""
    document = _json(response)
    if isinstance(document, dict):
        for key in ("reason", "error", "detail"):
            if isinstance(document.get(key), str) and document[key]:
                return str(document[key])[:REASON_CHARS]
    text = response.body.decode("utf-8", errors="replace").strip()
    return text[:REASON_CHARS] or response.reason or "no reason given"


def _session_headers(response: Response, document: Any) -> dict[str, str]:
    """How to present the session /login opened: its cookies, else its token as a bearer."""
    cookies = [
        header.split(";", 1)[0].strip()
        for header in response.headers.get_all("Set-Cookie") or []
        if "=" in header.split(";", 1)[0]
    ]
    if cookies:
        return {"Cookie": "; ".join(cookies)}
    token = document.get("session") if isinstance(document, dict) else None
    if isinstance(token, str) and token:
        return {"Authorization": f"Bearer {token}"}
    return {}


def _accounts(
    params: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[list[tuple[str, str]], str]:
    variable = params.get("accounts_env", DEFAULT_ACCOUNTS_ENV)
    if not env.get(variable):
        raise CheckError(f"the variable {variable} holding the accounts to try is not set")
    return parse_accounts(env[variable], variable), f"from {variable}"


def parse_accounts(text: str, variable: str) -> list[tuple[str, str]]:
    """``a@x:pw`` entries, one per line, or comma-separated when written on one line."""
    entries = text.splitlines() if "\n" in text.strip() else text.split(",")
    accounts = []
    for number, entry in enumerate((e.strip() for e in entries if e.strip()), 1):
        email, colon, password = entry.partition(":")
        if not colon or not email or not password:
            # The entry itself is never shown: it holds a password.
            raise CheckError(f"{variable}: entry {number} is not email:password")
        accounts.append((email.strip(), password))
    return accounts
