"""What the checks need to say about a target database without giving its password away."""

from __future__ import annotations

from common.dsn import redact

__all__ = ["TargetError", "first_line", "redact"]


class TargetError(RuntimeError):
    """The target database could not be reached or read; the message says why."""


def first_line(exc: Exception) -> str:
    """PostgreSQL's message without its DETAIL and HINT lines (the error's type if none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
