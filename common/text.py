"""Text PostgreSQL cannot store: the one rule every input path applies.

PostgreSQL refuses a NUL character (U+0000) in ``text`` and ``jsonb``, and a lone
surrogate (U+D800 to U+DFFF, which JSON's ``\\ud800`` escape and YAML's can produce)
cannot be encoded as UTF-8 at all. Either one reaching a query was a 500, after
some of the request's work was done; inputs are checked with this instead.
"""

from __future__ import annotations

import re
from typing import Any

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored (said of the text, e.g. "contains a NUL …"), or None."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    char = found.group()
    if char == "\x00":
        return "contains a NUL character (U+0000), which cannot be stored"
    return f"contains a lone surrogate (U+{ord(char):04X}), which is not text"


def unstorable_in(value: Any, where: str = "value") -> tuple[str, str] | None:
    """The first text in nested lists and dicts that cannot be stored: (its key path, why)."""
    if isinstance(value, str):
        reason = unstorable(value)
        return (where, reason) if reason else None
    items: Any = ()
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    for key, item in items:
        if found := unstorable_in(item, str(key) if where == "value" else f"{where}.{key}"):
            return found
    return None
