from __future__ import annotations

import psycopg
import pytest
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from runbooks.demo_target import apply_bad_migration, check_login, demo_credentials, login_problem
from runbooks.demo_target.passwords import (
    HASH_PATTERN,
    is_valid_hash,
    make_password_hash,
    verify_password,
)
from tests.demo_target.conftest import USERS


def test_demo_credentials_follow_the_documented_scheme():
    assert demo_credentials(250) == [
        ("demo100@todo.example", "demo-password-100"),
        ("demo200@todo.example", "demo-password-200"),
    ]


def test_password_hash_is_what_django_verifies():
    encoded = make_password_hash("s3cret", "abcDEF123salt")

    assert encoded.startswith("pbkdf2_sha256$1000$abcDEF123salt$")
    assert PBKDF2PasswordHasher().verify("s3cret", encoded)
    assert verify_password("s3cret", encoded)
    assert not verify_password("S3cret", encoded)


def test_truncated_hash_is_invalid_and_never_matches():
    encoded = make_password_hash("s3cret", "abcDEF123salt")

    assert is_valid_hash(encoded)
    assert not is_valid_hash(encoded[:64])
    assert not verify_password("s3cret", encoded[:64])


def test_check_login_accepts_a_demo_user(target):
    for email, password in demo_credentials(USERS):
        assert check_login(target, email, password), email


@pytest.mark.parametrize(
    ("email", "password", "problem"),
    [
        ("demo100@todo.example", "demo-password-200", "wrong password"),
        ("nobody@todo.example", "demo-password-100", "no user"),
    ],
)
def test_check_login_refuses_bad_credentials(target, email, password, problem):
    assert not check_login(target, email, password)
    assert problem in (login_problem(target, email, password) or "")


def test_bad_migration_locks_out_every_other_demo_user(target):
    apply_bad_migration(target)

    assert check_login(target, "demo100@todo.example", "demo-password-100")
    assert "not a valid pbkdf2_sha256 hash" in (
        login_problem(target, "demo200@todo.example", "demo-password-200") or ""
    )


def test_hash_pattern_finds_the_truncated_hashes_in_sql(target):
    """Validation checks can count malformed hashes in the database with HASH_PATTERN."""
    query = "SELECT count(*) FROM users WHERE password_hash !~ %s"
    with psycopg.connect(target) as conn:
        assert conn.execute(query, [HASH_PATTERN]).fetchone() == (0,)
    apply_bad_migration(target)

    with psycopg.connect(target) as conn:
        assert conn.execute(query, [HASH_PATTERN]).fetchone() == (USERS // 8,)
