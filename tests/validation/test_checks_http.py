"""The http family against a real local server (http.server in a thread)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from runbooks.checks import CheckContext, run_check, validate_check


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/healthz": (200, "application/json", json.dumps({"status": {"db": "up"}, "v": 1})),
            "/down": (503, "text/plain", "maintenance"),
            "/page": (200, "text/html", "<h1>Todo App</h1>"),
        }
        status, content_type, body = routes.get(self.path, (404, "text/plain", "no"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def app_env() -> Iterator[dict[str, str]]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"APP_URL": f"http://127.0.0.1:{server.server_address[1]}"}
    server.shutdown()
    server.server_close()


def http(env, **params):
    return run_check("http", params, env, CheckContext(timeout_seconds=5))


def test_http_status_text_and_json_pass(app_env):
    outcome = http(
        app_env,
        url="${APP_URL}/healthz",
        expect_status=200,
        expect_json={"status.db": "up", "v": 1},
    )
    assert (outcome.result, outcome.summary) == ("pass", "HTTP 200 as expected")
    assert outcome.evidence["ran"] == "GET ${APP_URL}/healthz"  # the template, not the filled URL
    assert outcome.evidence["expected"] == {"status": [200], "json status.db": "up", "json v": 1}
    assert outcome.evidence["seen"]["status"] == 200
    text = http(app_env, url="${APP_URL}/page", expect_text="Todo App")
    assert text.result == "pass"


def test_http_failures_name_the_difference(app_env):
    down = http(app_env, url="${APP_URL}/down", expect_status=200)
    assert (down.result, down.summary) == ("fail", "HTTP 503, expected 200")
    assert down.evidence["differences"] == ["status: [200] expected, 503 seen"]
    assert down.evidence["seen"]["body_excerpt"] == "maintenance"
    field = http(app_env, url="${APP_URL}/healthz", expect_json={"status.db": "down"})
    assert field.result == "fail"
    assert field.evidence["differences"] == ["json status.db: 'down' expected, 'up' seen"]
    text = http(app_env, url="${APP_URL}/page", expect_text="Welcome")
    assert text.evidence["differences"] == ["the body lacks 'Welcome'"]


def test_http_unreachable_or_unfilled_url_is_an_error(app_env):
    refused = http({"APP_URL": "http://127.0.0.1:1"}, url="${APP_URL}/healthz")
    assert refused.result == "error" and "GET failed" in refused.summary
    assert refused.evidence["ran"] == "GET ${APP_URL}/healthz"
    unfilled = http({}, url="${APP_URL}/healthz")
    assert (unfilled.result, unfilled.summary) == ("error", "http: no variable named APP_URL")


def test_http_validate_uses_the_executor_rules():
    assert validate_check("http", {"url": "${APP_URL}/healthz"}) == []
    assert any("'url' is required" in p for p in validate_check("http", {}))
    assert any(
        "expect_status" in p
        for p in validate_check("http", {"url": "http://x", "expect_status": "ok"})
    )
