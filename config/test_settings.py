"""Test overlay: real PostgreSQL by default, fast hashing, in-memory layer for unit tests.

Integration tests switch the channel layer to Redis themselves (tests/integration).
"""

from __future__ import annotations

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/ripcord")
os.environ.setdefault("SECRET_KEY", "test-secret-key")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
RIPCORD_DEMO = False
WHITENOISE_USE_FINDERS = True
# Status page: each test process its own cache, mail kept in django.core.mail.outbox.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
