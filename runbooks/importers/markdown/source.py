"""Bytes of a Markdown file → text the parser may take, or a located refusal.

Limits keep hostile files bounded in time and memory: markdown-it-py spends
roughly the same time per block whatever the block holds, so a cap on lines
bounds the parse, and a cap on bytes bounds memory. Line ends are made ``\\n``
(CRLF and lone CR alike), so line numbers are the ones an editor shows.
"""

from __future__ import annotations

from runbooks.importers.problems import Problem, RunbookError

MAX_BYTES = 6 * 1024 * 1024
MAX_LINES = 50_000


def decode_source(data: bytes, *, path: str) -> str:
    """The file's text with ``\\n`` line ends; ``RunbookError`` saying where it cannot be read."""
    if len(data) > MAX_BYTES:
        line = data.count(b"\n", 0, MAX_BYTES) + 1
        message = f"the file is larger than {MAX_BYTES // (1024 * 1024)} MB"
        raise RunbookError([Problem(path, line, "", message)])
    nul = data.find(b"\0")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise RunbookError([Problem(path, line, "", "NUL byte: the file is not text")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RunbookError([Problem(path, line, "", "the file is not UTF-8 text")]) from None
    text = text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if text.count("\n") >= MAX_LINES:
        message = f"the file is longer than {MAX_LINES} lines"
        raise RunbookError([Problem(path, MAX_LINES + 1, "", message)])
    return text
