"""Keys (``id`` fields) made from titles: short slugs, unique within their namespace."""

from __future__ import annotations

import re

_NOT_KEY = re.compile(r"[^a-z0-9]+")
MAX_KEY = 48


def slug(text: str, default: str) -> str:
    """``Stop all write operations`` → ``stop_all_write_operations`` (``default`` if nothing is left)."""
    key = _NOT_KEY.sub("_", text.lower()).strip("_")[:MAX_KEY].strip("_")
    return key or default


class Keys:
    """Hands out unique keys in one namespace: a repeated title gets ``_2``, ``_3``…"""

    def __init__(self, reserved: set[str] | None = None) -> None:
        self._used: set[str] = set(reserved or ())

    def key(self, text: str, default: str) -> str:
        base = slug(text, default)
        key, n = base, 1
        while key in self._used:
            n += 1
            key = f"{base[: MAX_KEY - len(str(n)) - 1]}_{n}"
        self._used.add(key)
        return key


_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9_.-]+")


def script_name(hint: str, title: str) -> str:
    """A file name for a script, never a path: ``../../etc/x.sh`` → ``x``; ``.sh`` is added later.

    Only the last path component of the author's name is used, reduced to letters,
    digits, ``_``, ``-`` and ``.``, without leading dots; so whatever a document
    says, the file lands in ``scripts/`` and nowhere else.
    """
    name = hint.replace("\\", "/").rsplit("/", 1)[-1]
    for suffix in (".sh", ".bash"):
        name = name.removesuffix(suffix)
    name = _UNSAFE_NAME.sub("_", name).lstrip(".-_")[:MAX_KEY]
    return name or slug(title, "script")
