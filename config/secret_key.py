"""The embedded mode's secret key: generated once, kept in ``VAR_DIR/secret_key``.

A key that changed on every start would sign everyone out of ``bin/demo`` at each
restart; a key written in the code would be the same on every demo machine. So
``manage.py demo`` makes one the first time (``ensure``), readable by its owner only,
and settings read it back at every later start (``read``). ``var/`` is in
.gitignore, so the key never reaches git. Production sets ``SECRET_KEY`` itself.
Importing the settings creates nothing: only the demo command writes the file.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

FILE_NAME = "secret_key"
MIN_LENGTH = 50  # Django's own check (security.W009) wants 50 characters or more


def read(var_dir: Path) -> str:
    """The stored key, or "" when there is none (or it is unreadable or too short)."""
    try:
        key = (var_dir / FILE_NAME).read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError):
        return ""
    return key if len(key) >= MIN_LENGTH else ""


def ensure(var_dir: Path) -> str:
    """The stored key, made first if there is none. Two starts at once keep one key."""
    if key := read(var_dir):
        return key
    var_dir.mkdir(parents=True, exist_ok=True)
    path = var_dir / FILE_NAME
    fresh = secrets.token_urlsafe(48)  # 64 characters
    temporary = path.with_name(f".{FILE_NAME}.{os.getpid()}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(fresh + "\n")
    try:
        os.link(temporary, path)  # fails if another start made the file meanwhile
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return read(var_dir)
