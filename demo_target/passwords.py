"""Password hashes in Django's ``pbkdf2_sha256`` format, computed with hashlib.

The stored form is ``pbkdf2_sha256$<iterations>$<salt>$<base64 of the sha256 digest>``,
byte for byte what ``django.contrib.auth.hashers.PBKDF2PasswordHasher`` writes and
verifies, so the demo application's users could log in to a Django app as they are.

The generator uses a deliberately low work factor (``DEMO_ITERATIONS``): thousands
of users must hash in about a second. Django accepts any iteration count when it
verifies and re-hashes at its own count on the next login, so the format stays real.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

ALGORITHM = "pbkdf2_sha256"
DEMO_ITERATIONS = 1_000
# A corrupted row must not make a verification run for minutes.
MAX_ITERATIONS = 10_000_000

# sha256 gives 32 bytes: 43 base64 characters and one "=" of padding.
HASH_PATTERN = r"^pbkdf2_sha256\$[1-9][0-9]*\$[A-Za-z0-9]+\$[A-Za-z0-9+/]{43}=$"
_HASH_RE = re.compile(HASH_PATTERN)


def make_password_hash(password: str, salt: str, iterations: int = DEMO_ITERATIONS) -> str:
    if not salt.isalnum() or not salt.isascii():
        raise ValueError("salt must be ASCII letters and digits (Django's salt alphabet)")
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), iterations)
    return f"{ALGORITHM}${iterations}${salt}${base64.b64encode(digest).decode('ascii')}"


def is_valid_hash(encoded: str) -> bool:
    """Whether ``encoded`` is a well-formed pbkdf2_sha256 hash (a truncated one is not)."""
    return _HASH_RE.fullmatch(encoded) is not None


def verify_password(password: str, encoded: str) -> bool:
    """Check ``password`` against ``encoded`` in constant time; malformed hashes never match."""
    if not is_valid_hash(encoded):
        return False
    _, iterations_text, salt, _ = encoded.split("$")
    iterations = int(iterations_text)
    if iterations > MAX_ITERATIONS:
        return False
    expected = make_password_hash(password, salt, iterations)
    return hmac.compare_digest(expected.encode("ascii"), encoded.encode("ascii"))
