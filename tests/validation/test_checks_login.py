"""The login family: the demo application's login, checked against its database."""

from __future__ import annotations

import psycopg
import pytest

from validation.checks import CheckContext, CheckError, run_check, validate_check
from validation.checks.login import parse_accounts

DEMO = {"demo_accounts": True}


def login(env, **params):
    return run_check("login", params, env, CheckContext(timeout_seconds=10))


def test_login_demo_accounts_all_log_in(target):
    outcome = login(target.env, **DEMO)
    assert (outcome.result, outcome.summary) == (
        "pass",
        "3 accounts log in (demo100@todo.example, demo200@todo.example, demo300@todo.example)",
    )
    assert outcome.evidence["expected"] == {"accounts_logging_in": 3}
    assert outcome.evidence["seen"]["accounts_logging_in"] == 3


def test_login_broken_hash_fails_naming_the_account(target):
    with psycopg.connect(target.dsn) as conn:
        conn.execute("UPDATE users SET password_hash = left(password_hash, 64) WHERE id = 200")
    outcome = login(target.env, **DEMO)
    assert outcome.result == "fail"
    assert outcome.summary == (
        "1 of 3 accounts cannot log in: the password hash of demo200@todo.example"
        " is not a valid pbkdf2_sha256 hash"
    )
    [account] = [a for a in outcome.evidence["seen"]["accounts"] if not a["ok"]]
    assert account["email"] == "demo200@todo.example"
    assert "demo-password" not in str(outcome.evidence)


def test_login_accounts_from_a_variable_take_precedence(target):
    env = {**target.env, "SMOKE": "demo100@todo.example:demo-password-100\nnobody@x:pw"}
    outcome = login(env, accounts_env="SMOKE", **DEMO)
    assert outcome.result == "fail"
    assert outcome.evidence["differences"] == ["no user with email nobody@x"]
    assert outcome.evidence["source"] == "from SMOKE"


def test_login_without_accounts_is_an_error_not_a_pass(target):
    with psycopg.connect(target.dsn) as conn:
        conn.execute("UPDATE users SET email = 'x' || email WHERE email LIKE 'demo%'")
    outcome = login(target.env, **DEMO)
    assert (outcome.result, outcome.summary) == (
        "error",
        "0 account(s) to try (the demo accounts), 1 needed",
    )
    unset = login(target.env, accounts_env="SMOKE")
    assert unset.result == "error" and "SMOKE" in unset.summary


def test_login_parse_accounts_never_echoes_an_entry():
    assert parse_accounts("a@x:p:w, b@x:q", "V") == [("a@x", "p:w"), ("b@x", "q")]
    with pytest.raises(CheckError, match="entry 2 is not email:password") as caught:
        parse_accounts("a@x:pw\nsecret-without-colon", "V")
    assert "secret" not in str(caught.value)


def test_login_validate_requires_a_source_of_accounts():
    assert validate_check("login", DEMO) == []
    assert any("give 'accounts_env'" in p for p in validate_check("login", {}))
    assert any("'min_accounts'" in p for p in validate_check("login", {**DEMO, "min_accounts": 0}))
