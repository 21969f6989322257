"""login checks: "a login against the demo application works", done against its database.

Params::

    accounts_env: SMOKE_TEST_ACCOUNTS  # optional: a variable (a secret) holding the accounts to
                                       # try, ``email:password`` one per line (or comma-separated)
    demo_accounts: true                # when that variable is absent: the demo target's own
                                       # accounts (demo<id>@todo.example / demo-password-<id>)
    min_accounts: 1                    # fewer accounts to try is an error, never a pass
    database_env: TARGET_DATABASE_URL

Each account is checked as the demo application checks a login
(``runbooks.demo_target.demo_login``): the user exists, the stored hash is a
well-formed pbkdf2_sha256 hash, the password verifies against it, and the user
has a live session. Demo accounts are found in the users table by their email
(after the bad migration ids are UUIDs, emails are not), and their passwords
follow from their ids, so nothing is configured for the demo. Evidence lists the
emails tried and why each failed; passwords never leave this module.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from runbooks.demo_target import TargetError, login_problem
from runbooks.demo_target.data import demo_email, demo_password
from validation.checks.base import (
    CheckContext,
    CheckError,
    CheckOutcome,
    connection_string,
    database_env_problems,
    evidence,
    register,
    unknown_keys,
)
from validation.checks.sql import run_query

KEYS = {"accounts_env", "demo_accounts", "min_accounts", "database_env"}
DEMO_EMAIL = re.compile(r"^demo([1-9][0-9]*)@todo\.example$")
DEMO_ACCOUNTS_QUERY = (
    r"SELECT email FROM users WHERE email ~ '^demo[1-9][0-9]*@todo\.example$'"
    " ORDER BY length(email), email"
)


@register("login")
class LoginCheck:
    kind = "login"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        problems = unknown_keys(params, KEYS, "login")
        if not isinstance(params.get("accounts_env", ""), str):
            problems.append("login: 'accounts_env' must name a variable")
        if not isinstance(params.get("demo_accounts", False), bool):
            problems.append("login: 'demo_accounts' must be true or false")
        minimum = params.get("min_accounts", 1)
        if type(minimum) is not int or minimum < 1:
            problems.append("login: 'min_accounts' must be a whole number of at least 1")
        if not params.get("accounts_env") and not params.get("demo_accounts"):
            problems.append("login: give 'accounts_env', 'demo_accounts: true', or both")
        return problems + database_env_problems(params, "login")

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        dsn = connection_string(params, env)
        accounts, source = _accounts(params, env, dsn, context)
        ran = f"login as each of {len(accounts)} account(s) ({source}) against the target database"
        minimum = params.get("min_accounts", 1)
        if len(accounts) < minimum:
            raise CheckError(
                f"{len(accounts)} account(s) to try ({source}), {minimum} needed", ran=ran
            )
        tried = []
        for email, password in accounts:
            try:
                problem = login_problem(dsn, email, password)
            except TargetError as exc:
                raise CheckError(str(exc), ran=ran) from exc
            tried.append({"email": email, "ok": problem is None, "problem": problem})
        failed = [account for account in tried if not account["ok"]]
        differences = [str(account["problem"]) for account in failed]
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
        return CheckOutcome("pass", f"{len(tried)} accounts log in ({emails}{more})", proof)


def _accounts(
    params: Mapping[str, Any], env: Mapping[str, str], dsn: str, context: CheckContext
) -> tuple[list[tuple[str, str]], str]:
    variable = params.get("accounts_env")
    if variable and env.get(variable):
        return parse_accounts(env[variable], variable), f"from {variable}"
    if not params.get("demo_accounts"):
        raise CheckError(f"the variable {variable} holding the accounts to try is not set")
    found = run_query(dsn, DEMO_ACCOUNTS_QUERY, None, context.timeout_seconds, keep=10_000)
    accounts = []
    for (email,) in found.compared:
        match = DEMO_EMAIL.match(str(email))
        if match and demo_email(int(match[1])) == email:
            accounts.append((str(email), demo_password(int(match[1]))))
    return accounts, "the demo accounts"


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
