"""HTTP executor: one request, an expectation, and the start of the response as evidence.

Command: ``{"method": "POST", "url": "${FLAGS_URL}/maintenance", "headers": {...},
"body": "..." | "json": {...}, "expect_status": 200 | [200, 204], "expect_text": "...",
"expect_json": {"path.to.field": value}}``. Without ``expect_status`` any 2xx passes.

Why it is built this way:

- urllib only, no new dependency. The opener is assembled by hand from the HTTP(S)
  handlers alone: no file:// or ftp://, no proxy taken from the worker's environment,
  no redirect following (the expectation is about the URL the plan names, and urllib
  would quietly turn a redirected POST into a GET), and every status comes back as a
  response instead of an exception.
- ``${NAME}`` in the url, header values, body and the string values of ``json`` is a
  *template*, not a shell: each placeholder is replaced, in one pass, by the step
  variable's text, verbatim (not URL-encoded; encode it in the variable if it goes
  into a query string). An unknown name is an error rather than a request sent to a
  half-filled URL. Evidence and output show the unfilled template, since filled
  values may be secrets.
- A connection that failed or timed out is reported as transient only for methods
  that are safe to repeat. Nothing is retried automatically either way (the runner
  never re-runs a step); for a POST that may have reached the server, the message
  says so, for the person deciding whether to re-run.
- The request is bounded by the step timeout (socket timeout = time left). Cancel is
  checked before sending; a single request is short enough not to be interrupted.
"""

from __future__ import annotations

import functools
import http.client
import json
import re
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import urlsplit

from runbooks.executors._stream import Watch
from runbooks.executors.base import (
    Emit,
    Execution,
    ExecutorError,
    Outcome,
    ShouldStop,
    TransientExecutorError,
    as_line,
)

IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE"})
METHODS = IDEMPOTENT | {"POST", "PATCH", "OPTIONS"}
KEYS = {"method", "url", "headers", "body", "json", "expect_status", "expect_text", "expect_json"}
EXCERPT_BYTES = 2048  # kept as evidence and emitted
MAX_BODY_BYTES = 1024 * 1024  # read for expect_text / expect_json; more is not looked at
PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
MISSING = object()  # what dig() finds where a path leads nowhere


@functools.cache
def _opener() -> urllib.request.OpenerDirector:
    # One per process: a TLS context costs ~50 ms to build and every request Ripcord makes
    # passes here (a login check makes two per account). Sharing it across threads is what
    # urllib's own urlopen does; the handlers keep no per-request state.
    opener = urllib.request.OpenerDirector()
    opener.add_handler(urllib.request.HTTPHandler())
    opener.add_handler(urllib.request.HTTPSHandler(context=ssl.create_default_context()))
    return opener


class HttpExecutor:
    kind = "http"

    def validate(self, command: Mapping[str, Any]) -> list[str]:
        problems = [f"http: unknown key {key!r}" for key in sorted(set(command) - KEYS)]
        method, url = command.get("method"), command.get("url")
        if not isinstance(method, str) or method.upper() not in METHODS:
            problems.append(f"http: 'method' must be one of {', '.join(sorted(METHODS))}")
        if not isinstance(url, str) or not url:
            problems.append("http: 'url' is required")
        elif not url.startswith("${") and (problem := _url_problem(url)):
            problems.append(f"http: 'url' {problem}")
        headers = command.get("headers", {})
        if not isinstance(headers, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in headers.items()
        ):
            problems.append("http: 'headers' must map names to strings")
        if "body" in command and "json" in command:
            problems.append("http: give 'body' or 'json', not both")
        if "body" in command and not isinstance(command["body"], str):
            problems.append("http: 'body' must be a string (use 'json' for a document)")
        if "expect_status" in command and _statuses(command["expect_status"]) is None:
            problems.append("http: 'expect_status' must be a status code or a list of them")
        if "expect_text" in command and not isinstance(command["expect_text"], str):
            problems.append("http: 'expect_text' must be a string")
        if "expect_json" in command and not isinstance(command["expect_json"], dict):
            problems.append("http: 'expect_json' must map dotted paths to values")
        return problems

    def abandon(self, run_id: int, *, instance: str) -> str:
        """Nothing outlives the worker: the request dies with its connection."""
        return ""

    def run(self, execution: Execution, *, emit: Emit, should_stop: ShouldStop) -> Outcome:
        command = execution.command
        if problems := self.validate(command):
            raise ExecutorError("; ".join(problems))
        watch = Watch(should_stop, execution.timeout_seconds)
        if stop := watch.reason():
            raise watch.error(stop)
        method, template = command["method"].upper(), command["url"]
        url = fill(template, execution.env)
        if problem := _url_problem(url):
            raise ExecutorError(f"http: url {template!r} {problem} once filled in")
        headers = {
            name: fill(value, execution.env) for name, value in command.get("headers", {}).items()
        }
        data: bytes | None = None
        if "json" in command:
            data = json.dumps(_fill_json(command["json"], execution.env)).encode()
            if not any(name.lower() == "content-type" for name in headers):
                headers["Content-Type"] = "application/json"
        elif "body" in command:
            data = fill(command["body"], execution.env).encode()
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        if not request.has_header("User-agent"):
            request.add_header("User-Agent", "ripcord-executor")
        emit(as_line(f"{method} {template}"))
        response = send(request, timeout=watch.remaining())
        return _judge(
            command,
            response.status,
            response.reason,
            response.headers.get("Content-Type", ""),
            response.body,
            emit,
            template,
        )


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: Message
    body: bytes  # at most MAX_BODY_BYTES


def send(request: urllib.request.Request, *, timeout: float) -> Response:
    """Send one request through the executor's opener (see the module docstring).

    Any status is a Response; a connection that failed or timed out raises
    ExecutorError (TransientExecutorError for methods safe to repeat). Validation
    and pre-flight checks that talk to an application use this too, so every
    request Ripcord makes follows the same rules.
    """
    method = request.get_method()
    try:
        with _opener().open(request, timeout=max(timeout, 0.001)) as response:
            return Response(
                status=int(response.status),
                reason=str(response.reason),
                headers=response.headers,
                body=b"" if method == "HEAD" else response.read(MAX_BODY_BYTES),
            )
    except (urllib.error.URLError, OSError, http.client.HTTPException, ValueError) as exc:
        raise _failure(method, exc) from exc


def _judge(
    command: Mapping[str, Any],
    status: int,
    reason: str,
    content_type: str,
    raw: bytes,
    emit: Emit,
    template: str,
) -> Outcome:
    """Compare the response with the expectations; every check is kept as evidence."""
    excerpt = raw[:EXCERPT_BYTES]
    emit(as_line(f"HTTP {status} {reason}"))
    if excerpt:  # the body's own bytes; what follows starts on a line of its own
        emit(excerpt if excerpt.endswith(b"\n") else excerpt + b"\n")
    if len(raw) > EXCERPT_BYTES:
        emit(as_line(f"[ripcord] body cut after {EXCERPT_BYTES} bytes"))
    allowed = _statuses(command.get("expect_status"))
    checks: list[dict[str, Any]] = [
        {
            "check": "status",
            "expected": allowed if allowed is not None else "2xx",
            "seen": status,
            "ok": status in allowed if allowed is not None else 200 <= status < 300,
        }
    ]
    text = raw.decode("utf-8", errors="replace")
    if "expect_text" in command:
        wanted = command["expect_text"]
        checks.append({"check": "text", "expected": wanted, "seen": None, "ok": wanted in text})
    for path, wanted in command.get("expect_json", {}).items():
        try:
            seen = dig(json.loads(text), path)
        except ValueError:
            seen = MISSING
        ok = seen is not MISSING and _same(seen, wanted)
        shown = "<missing or not JSON>" if seen is MISSING else seen
        checks.append({"check": f"json {path}", "expected": wanted, "seen": shown, "ok": ok})
    failed = [check for check in checks if not check["ok"]]
    for check in failed:
        emit(
            as_line(
                f"[ripcord] {check['check']}: expected {check['expected']!r}, saw {check['seen']!r}"
            )
        )
    if not failed:
        summary = f"HTTP {status} as expected"
    elif failed[0]["check"] == "status":
        wanted = " or ".join(map(str, allowed)) if allowed is not None else "2xx"
        summary = f"HTTP {status}, expected {wanted}"
    elif failed[0]["check"] == "text":
        summary = f"HTTP {status}, body lacks {failed[0]['expected']!r}"
    else:
        first = failed[0]
        summary = (
            f"HTTP {status}, {first['check']} was {first['seen']!r}, expected {first['expected']!r}"
        )
    evidence = {
        "method": command["method"].upper(),
        "url": template,
        "status": status,
        "reason": reason,
        "content_type": content_type,
        # Text, for JSON; a NUL is replaced where evidence is stored (redaction.storable).
        "body_excerpt": excerpt.decode("utf-8", errors="replace"),
        "checks": checks,
    }
    return Outcome(succeeded=not failed, summary=summary, evidence=evidence)


def fill(template: str, env: Mapping[str, str]) -> str:
    """Replace each ``${NAME}`` by ``env[NAME]``; the replaced text is never scanned again."""
    missing = sorted({name for name in PLACEHOLDER.findall(template) if name not in env})
    if missing:
        raise ExecutorError(f"http: no variable named {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: env[match.group(1)], template)


def _fill_json(value: Any, env: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        return fill(value, env)
    if isinstance(value, list):
        return [_fill_json(item, env) for item in value]
    if isinstance(value, dict):
        return {key: _fill_json(item, env) for key, item in value.items()}
    return value


def _url_problem(url: str) -> str | None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an http:// or https:// URL"
    return None


def _statuses(value: Any) -> list[int] | None:
    codes = value if isinstance(value, list) else [value]
    valid = all(type(code) is int and 100 <= code <= 599 for code in codes)
    return codes if codes and valid else None


def dig(document: Any, path: str) -> Any:
    """Follow ``a.b.0.c`` through objects and arrays; MISSING when it leads nowhere.

    The one reading of a dotted JSON path (``expect_json`` here, a flag check's
    ``json_path``), so the two cannot disagree about what a path means."""
    for part in path.split("."):
        if isinstance(document, dict) and part in document:
            document = document[part]
        elif isinstance(document, list) and part.isdigit() and int(part) < len(document):
            document = document[int(part)]
        else:
            return MISSING
    return document


def _same(seen: Any, wanted: Any) -> bool:
    # JSON true is not 1: Python's True == 1 must not pass an expectation.
    if isinstance(seen, bool) or isinstance(wanted, bool):
        return type(seen) is type(wanted) and seen == wanted
    return bool(seen == wanted)


def _failure(method: str, exc: Exception) -> ExecutorError:
    cause = exc.reason if isinstance(exc, urllib.error.URLError) else exc
    passing = isinstance(cause, ConnectionError | TimeoutError) or (
        isinstance(cause, socket.gaierror) and cause.errno == socket.EAI_AGAIN
    )
    message = f"http: {method} failed: {cause}"
    if passing and method in IDEMPOTENT:
        return TransientExecutorError(message)
    if passing:
        message += f" (check before re-running: a {method} may have reached the server)"
    return ExecutorError(message)
