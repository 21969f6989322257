"""Receiver credentials: bearer tokens kept only as a hash, signing secrets kept encrypted.

A PagerDuty signing secret must be read back to verify a signature, so it is stored
Fernet-encrypted under ``RIPCORD_RECEIVER_KEY``; ``RIPCORD_RECEIVER_OLD_KEYS`` still
decrypt (rotation: move the old key there, set a new one, run ``rotate_receiver_keys``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings

TOKEN_PREFIX = "rcv_"


def new_hook_id() -> str:
    return secrets.token_urlsafe(24)


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def token_matches(raw: str, stored_sha256: str) -> bool:
    return bool(stored_sha256) and hmac.compare_digest(hash_token(raw), stored_sha256)


def _fernet_key(text: str) -> bytes:
    return text.encode()


def _derived_key() -> bytes:
    """Embedded mode and tests only: a key derived from SECRET_KEY (settings refuse it elsewhere)."""
    digest = hashlib.sha256(b"ripcord-receiver-key:" + settings.SECRET_KEY.encode()).digest()
    return base64.urlsafe_b64encode(digest)


def _fernet() -> MultiFernet:
    current = settings.RIPCORD_RECEIVER_KEY
    keys = [_fernet_key(current) if current else _derived_key()]
    keys += [_fernet_key(old) for old in settings.RIPCORD_RECEIVER_OLD_KEYS]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str | None:
    """The secret, or None when no configured key opens it (a lost key: recreate the receiver)."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        return None


def rotate(token: str) -> str:
    """Re-encrypt under the current key (a no-op in meaning)."""
    return _fernet().rotate(token.encode()).decode()


def pagerduty_signature_ok(secret: str, body: bytes, header: str) -> bool:
    """``X-PagerDuty-Signature``: one or more ``v1=<hex HMAC-SHA256 of the raw body>``, comma-separated."""
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    for part in header.split(","):
        version, _, value = part.strip().partition("=")
        if version == "v1" and hmac.compare_digest(value.strip(), expected):
            return True
    return False
