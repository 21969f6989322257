"""Secrets out of a run's output, however the output happens to be cut.

Output reaches the sink in pieces of any size (reads of a pipe, Docker log frames), so a
secret may arrive split across two pieces, and a secret read from a file (a PEM key) spans
several lines. Redaction therefore works on the byte stream, never on lines:

- every occurrence of a secret's UTF-8 bytes is replaced by ``[secret:NAME]``; where two
  secrets could match at the same place the longer one wins, and the stream is scanned
  left to right (as one regular expression over the whole stream would);
- between pieces it holds back only the *shortest necessary* suffix: the longest suffix of
  what it has that is a proper prefix of some secret. Anything before that can no longer
  become part of a secret, so it is released at once, redacted. At most the longest
  secret's length minus one byte is ever held, however long the output;
- ``finish`` releases what is held, redacted: a prefix that never became a secret is
  ordinary output.

Only whole values are recognised: a script that prints one line of a multi-line key prints
something that is not the secret's value.

The run's outcome is output too (an SQL row, an error message, an HTTP body excerpt end up
in its summary and evidence, and the summary is shown even to viewers), so it goes through
the same redactor before it is stored (``Redactor.outcome``; pre-flight results use its
``summary`` and ``evidence``), which also takes out the NUL PostgreSQL cannot store.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

from runbooks.executors.base import Outcome


def marker(name: str) -> str:
    return f"[secret:{name}]"


@dataclass(frozen=True)
class Redactor:
    """The secrets of one run, by name; ``stream()`` gives a fresh stream redactor."""

    secrets: Mapping[str, str]

    @cached_property
    def _compiled(self) -> _Compiled:
        # Built once per run, not per value: evidence has many leaves, each redacted.
        return _compile(self.secrets)

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self._compiled)

    def text(self, value: str) -> str:
        """One whole string, redacted. (Valid UTF-8 stays valid: a secret's bytes can only
        match at character boundaries, and markers are ASCII.)"""
        compiled = self._compiled
        if compiled.pattern is None:
            return value
        # One scan of the whole value matches as the stream redactor does when finished.
        redacted = compiled.pattern.sub(lambda m: compiled.replacement[m.group()], value.encode())
        return redacted.decode()

    def summary(self, value: str) -> str:
        """A summary or message as it may be stored: redacted, and without NUL (see ``storable``)."""
        return storable(self.text(value))

    def evidence(self, evidence: Mapping[str, Any]) -> dict[str, Any]:
        """JSON evidence as it may be stored: every string (key or value) and number redacted,
        and no NUL in any string."""
        return {self._json(key): self._json(item) for key, item in evidence.items()}

    def outcome(self, outcome: Outcome) -> Outcome:
        """The outcome with its summary and its evidence as they may be stored."""
        return replace(
            outcome, summary=self.summary(outcome.summary), evidence=self.evidence(outcome.evidence)
        )

    def _json(self, value: Any) -> Any:
        if isinstance(value, str):
            return storable(self.text(value))  # redacted first: a secret may contain a NUL
        if isinstance(value, dict):
            return self.evidence(value)
        if isinstance(value, list | tuple):
            return [self._json(item) for item in value]
        if isinstance(value, int | float) and not isinstance(value, bool):
            # A numeric secret (a PIN) selected from a table is still the secret.
            text = str(value)
            redacted = self.text(text)
            return value if redacted == text else redacted
        return value


def storable(text: str) -> str:
    """``text`` with each NUL replaced by U+FFFD: PostgreSQL refuses NUL in text columns and
    in jsonb ("unsupported Unicode escape sequence"), and a response body, a row or an error
    message may well carry one. The log keeps the bytes as they came (it is stored as bytes)."""
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def _forms(value: str) -> list[bytes]:
    """The bytes a secret's value may appear as in output.

    A multi-line value is also looked for with CRLF line ends: a file secret is read with
    universal newlines, so a key stored with CRLF has only "\\n" in its value, while a
    script printing the file itself writes "\\r\\n" (as does anything behind a terminal).
    """
    raw = value.encode()
    crlf = value.replace("\r\n", "\n").replace("\n", "\r\n").encode()
    return [raw] if crlf == raw else [raw, crlf]


@dataclass(frozen=True)
class _Compiled:
    """What redacting needs of a set of secrets, built once (``_compile``)."""

    replacement: dict[bytes, bytes]  # each form of a secret's value -> its marker
    longest_first: list[bytes]
    pattern: re.Pattern[bytes] | None  # None: no secret to look for


def _compile(secrets: Mapping[str, str]) -> _Compiled:
    replacement: dict[bytes, bytes] = {}
    for name, value in sorted(secrets.items()):
        for form in _forms(value) if value else []:
            replacement.setdefault(form, marker(name).encode())  # same value: first name
    # Longest first: Python tries alternatives in order, so at any position the longest
    # secret that matches there wins (a secret containing another is replaced whole).
    longest_first = sorted(replacement, key=len, reverse=True)
    pattern = re.compile(b"|".join(map(re.escape, longest_first))) if longest_first else None
    return _Compiled(replacement, longest_first, pattern)


class StreamRedactor:
    """Feed it output in pieces; it returns the output, redacted, as soon as that is safe."""

    def __init__(self, secrets: Mapping[str, str] | _Compiled) -> None:
        compiled = secrets if isinstance(secrets, _Compiled) else _compile(secrets)
        self._replacement = compiled.replacement
        self._secrets = compiled.longest_first
        self._pattern = compiled.pattern
        self._held = b""

    def feed(self, data: bytes) -> bytes:
        if self._pattern is None:
            return data
        return self._release(self._held + data, final=False)

    def finish(self) -> bytes:
        """Everything still held, redacted; the redactor is then empty."""
        if self._pattern is None or not self._held:
            return b""
        return self._release(self._held, final=True)

    def _release(self, buf: bytes, *, final: bool) -> bytes:
        assert self._pattern is not None
        cut = len(buf) if final else self._unfinished_start(buf)
        out = bytearray()
        pos = 0
        # A match starting before ``cut`` is final: were a longer secret possible at its
        # start, that start would begin an unfinished prefix, and ``cut`` would be there.
        for match in self._pattern.finditer(buf):
            if match.start() >= cut:
                break
            out += buf[pos : match.start()]
            out += self._replacement[match.group()]
            pos = match.end()  # may pass ``cut``: the match took those bytes
        keep = max(pos, cut)
        out += buf[pos:keep]
        self._held = buf[keep:]
        return bytes(out)

    def _unfinished_start(self, buf: bytes) -> int:
        """Where the longest suffix of ``buf`` that is a proper prefix of a secret starts."""
        best = len(buf)
        for secret in self._secrets:
            # Only the last len(secret) - 1 bytes can begin an unfinished copy of it, and a
            # start at or after ``best`` would not make the suffix any longer.
            pos = buf.find(secret[:1], max(len(buf) - len(secret) + 1, 0), best)
            while pos != -1:
                if secret.startswith(buf[pos:]):
                    best = pos  # the first such start is this secret's longest suffix
                    break
                pos = buf.find(secret[:1], pos + 1, best)
        return best
