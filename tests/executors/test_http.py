"""HTTP executor against a real http.server on 127.0.0.1 (port chosen by the kernel)."""

from __future__ import annotations

import json
import socket
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from runbooks.executors import (
    Execution,
    ExecutorError,
    Outcome,
    StepCancelled,
    TransientExecutorError,
)
from runbooks.executors import http as http_executor
from runbooks.executors.http import HttpExecutor
from tests.executors.conftest import Lines, closed_port, never

executor = HttpExecutor()
FLAGS = {"flags": {"maintenance": True, "new_ui": False}, "items": [{"id": 7}], "count": 1}


class Handler(BaseHTTPRequestHandler):
    """/status/<code>, /flags (JSON), /big (10 KB), /redirect; records every request."""

    seen: list[dict[str, object]]

    def log_message(self, format, *args):  # keep test output clean
        pass

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.server.seen.append(  # type: ignore[attr-defined]
            {
                "method": self.command,
                "path": self.path,
                "headers": dict(self.headers),
                "body": self.rfile.read(length).decode(),
            }
        )
        status, body, extra = 200, b"ok\n", {}
        if self.path.startswith("/status/"):
            status = int(self.path.split("?")[0].split("/")[2])
            body = f"status {status}\n".encode()
        elif self.path == "/flags":
            body = json.dumps(FLAGS).encode()
        elif self.path == "/big":
            body = b"".join(f"line {n:05d}\n".encode() for n in range(1000))
        elif self.path == "/awkward":
            body = b"crlf\r\nnul:\x00 bad:\xff no final newline"
        elif self.path == "/redirect":
            status, extra = 302, {"Location": "/flags"}
        self.send_response(status)
        for name, value in extra.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _answer


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.seen = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


def base(server: ThreadingHTTPServer) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


def run(execution: Execution) -> tuple[Outcome, Lines]:
    lines = Lines()
    return executor.run(execution, emit=lines, should_stop=never), lines


def test_http_passes_when_the_status_is_expected(server, make_execution):
    outcome, lines = run(
        make_execution(
            {"method": "GET", "url": f"{base(server)}/status/204", "expect_status": [200, 204]}
        )
    )
    assert outcome.succeeded
    assert outcome.summary == "HTTP 204 as expected"
    assert lines[:2] == [f"GET {base(server)}/status/204", "HTTP 204 No Content"]


def test_http_fails_when_the_status_is_not_expected(server, make_execution):
    outcome, lines = run(
        make_execution({"method": "GET", "url": f"{base(server)}/status/503", "expect_status": 200})
    )
    assert not outcome.succeeded
    assert outcome.summary == "HTTP 503, expected 200"
    assert outcome.evidence["status"] == 503
    assert "status 503" in lines


def test_http_without_expect_status_wants_2xx(server, make_execution):
    outcome, _ = run(make_execution({"method": "GET", "url": f"{base(server)}/status/404"}))
    assert not outcome.succeeded


def test_http_checks_json_paths_strictly(server, make_execution):
    url = f"{base(server)}/flags"
    good = {"flags.maintenance": True, "items.0.id": 7, "flags.new_ui": False}
    outcome, _ = run(make_execution({"method": "GET", "url": url, "expect_json": good}))
    assert outcome.succeeded, outcome.summary

    # JSON true is not 1, and a path that leads nowhere is a failure, not an error.
    for expect in ({"count": True}, {"flags.maintenance": 1}, {"flags.missing": None}):
        outcome, _ = run(make_execution({"method": "GET", "url": url, "expect_json": expect}))
        assert not outcome.succeeded, expect
    assert "flags.missing" in outcome.summary


def test_http_checks_expected_text(server, make_execution):
    url = f"{base(server)}/flags"
    ok, _ = run(make_execution({"method": "GET", "url": url, "expect_text": '"maintenance": true'}))
    missing, _ = run(make_execution({"method": "GET", "url": url, "expect_text": "degraded"}))
    assert ok.succeeded
    assert (missing.succeeded, missing.summary) == (False, "HTTP 200, body lacks 'degraded'")


def test_http_keeps_the_first_2kb_as_evidence(server, make_execution):
    outcome, lines = run(make_execution({"method": "GET", "url": f"{base(server)}/big"}))
    excerpt = outcome.evidence["body_excerpt"]
    assert len(excerpt) == 2048
    assert excerpt.startswith("line 00000\n")
    assert lines[2] == "line 00000"
    assert lines[-1] == "[ripcord] body cut after 2048 bytes"
    assert len(lines) < 200  # not the whole 11 KB body


def test_http_logs_the_body_bytes_as_they_came(server, make_execution):
    outcome, lines = run(make_execution({"method": "GET", "url": f"{base(server)}/awkward"}))
    status_line = b"GET " + base(server).encode() + b"/awkward\nHTTP 200 OK\n"
    body = b"crlf\r\nnul:\x00 bad:\xff no final newline"
    assert bytes(lines.data) == status_line + body + b"\n"  # what follows starts a line
    # Evidence is text: invalid UTF-8 is replaced here, NUL only where it is stored (jsonb).
    assert outcome.evidence["body_excerpt"] == "crlf\r\nnul:\x00 bad:\ufffd no final newline"


def test_http_fills_placeholders_as_plain_text(server, make_execution):
    hostile = "$(touch /tmp/pwned); rm -rf /tmp/x ${TOKEN}"
    execution = make_execution(
        {
            "method": "POST",
            "url": "${BASE}/status/201?env=${ENV}",
            "headers": {"Authorization": "Bearer ${TOKEN}"},
            "body": '{"note": "${NOTE}"}',
            "expect_status": 201,
        },
        env={"BASE": base(server), "ENV": "staging", "TOKEN": "s3cret", "NOTE": hostile},
    )
    outcome, lines = run(execution)
    assert outcome.succeeded
    request = server.seen[-1]
    assert (request["method"], request["path"]) == ("POST", "/status/201?env=staging")
    assert request["headers"]["Authorization"] == "Bearer s3cret"
    assert request["body"] == '{"note": "' + hostile + '"}'  # ${TOKEN} inside a value stays text
    # The evidence and output show the template: filled values may be secrets.
    assert outcome.evidence["url"] == "${BASE}/status/201?env=${ENV}"
    assert "s3cret" not in "\n".join(lines)


def test_http_sends_json_bodies_with_placeholders(server, make_execution):
    execution = make_execution(
        {"method": "PUT", "url": f"{base(server)}/flags", "json": {"on": True, "who": "${WHO}"}},
        env={"WHO": "ic"},
    )
    outcome, _ = run(execution)
    assert outcome.succeeded
    assert json.loads(server.seen[-1]["body"]) == {"on": True, "who": "ic"}
    assert server.seen[-1]["headers"]["Content-Type"] == "application/json"


def test_http_refuses_unknown_placeholders(server, make_execution):
    with pytest.raises(ExecutorError, match="NOPE"):
        run(make_execution({"method": "GET", "url": f"{base(server)}/x?${{NOPE}}"}))
    assert server.seen == []


def test_http_does_not_follow_redirects(server, make_execution):
    outcome, _ = run(
        make_execution({"method": "POST", "url": f"{base(server)}/redirect", "expect_status": 302})
    )
    assert outcome.succeeded
    assert [request["path"] for request in server.seen] == ["/redirect"]


def test_http_opener_is_built_once_with_only_the_http_handlers(server, make_execution, monkeypatch):
    monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{closed_port()}")  # must not be used
    for _ in range(2):
        outcome, _ = run(make_execution({"method": "GET", "url": f"{base(server)}/flags"}))
        assert outcome.succeeded
    assert http_executor._opener() is http_executor._opener()
    # No redirect, proxy, file:// or ftp:// handler: only plain HTTP and HTTPS.
    opener: Any = http_executor._opener()  # its handlers are not in typeshed's stubs
    handlers = {type(handler) for handler in opener.handlers}
    assert handlers == {urllib.request.HTTPHandler, urllib.request.HTTPSHandler}


def test_http_connection_refused_is_transient_for_get(make_execution):
    with pytest.raises(TransientExecutorError):
        run(make_execution({"method": "GET", "url": f"http://127.0.0.1:{closed_port()}/"}))


def test_http_connection_refused_is_permanent_for_post(make_execution):
    with pytest.raises(ExecutorError, match="may have reached the server") as raised:
        run(make_execution({"method": "POST", "url": f"http://127.0.0.1:{closed_port()}/"}))
    assert not isinstance(raised.value, TransientExecutorError)


def test_http_slow_server_times_out_as_transient_for_get(make_execution):
    with socket.socket() as listener:  # accepts connections (backlog) but never answers
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        url = f"http://127.0.0.1:{listener.getsockname()[1]}/"
        with pytest.raises(TransientExecutorError, match="timed out"):
            run(make_execution({"method": "GET", "url": url}, timeout_seconds=0.5))


def test_http_refuses_other_schemes_even_after_filling(make_execution):
    with pytest.raises(ExecutorError, match="http:// or https://"):
        run(make_execution({"method": "GET", "url": "${U}"}, env={"U": "file:///etc/passwd"}))


def test_http_does_not_send_when_already_cancelled(server, make_execution):
    with pytest.raises(StepCancelled):
        executor.run(
            make_execution({"method": "POST", "url": f"{base(server)}/flags"}),
            emit=Lines(),
            should_stop=lambda: True,
        )
    assert server.seen == []


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ({"url": "http://x/"}, "'method' must be one of"),
        ({"method": "FETCH", "url": "http://x/"}, "'method' must be one of"),
        ({"method": "GET"}, "'url' is required"),
        ({"method": "GET", "url": "ftp://x/"}, "http:// or https://"),
        ({"method": "POST", "url": "http://x/", "body": "a", "json": {}}, "not both"),
        ({"method": "GET", "url": "http://x/", "expect_status": "200"}, "expect_status"),
        ({"method": "GET", "url": "http://x/", "expect_status": [200, 99]}, "expect_status"),
        ({"method": "GET", "url": "http://x/", "headers": {"X": 1}}, "'headers'"),
        ({"method": "GET", "url": "http://x/", "expect": 200}, "unknown key 'expect'"),
    ],
)
def test_http_validate_reports_bad_commands(command, problem):
    assert any(problem in text for text in executor.validate(command))


def test_http_validate_accepts_templates():
    assert executor.validate({"method": "post", "url": "${FLAGS_URL}/maintenance"}) == []
