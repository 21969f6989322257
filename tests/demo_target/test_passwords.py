"""Demo accounts and their pbkdf2_sha256 hashes (logins themselves: test_app.py)."""

from __future__ import annotations

import psycopg
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from demo_target import apply_bad_migration, demo_credentials
from demo_target.passwords import (
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


def test_hash_pattern_finds_the_truncated_hashes_in_sql(target):
    """Validation checks can count malformed hashes in the database with HASH_PATTERN."""
    query = "SELECT count(*) FROM users WHERE password_hash !~ %s"
    with psycopg.connect(target) as conn:
        assert conn.execute(query, [HASH_PATTERN]).fetchone() == (0,)
    apply_bad_migration(target)

    with psycopg.connect(target) as conn:
        assert conn.execute(query, [HASH_PATTERN]).fetchone() == (USERS // 8,)
