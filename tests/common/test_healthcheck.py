from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from common import healthcheck


@pytest.mark.parametrize(
    ("allowed", "host"),
    [
        ("ripcord.example.com,localhost", "ripcord.example.com"),
        (".example.com", "example.com"),
        ("*", "localhost"),
        ("", "localhost"),
        (" , localhost", "localhost"),
    ],
)
def test_probe_host_is_accepted_by_allowed_hosts(allowed, host):
    assert healthcheck.probe_host(allowed) == host


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hosts.append(self.headers["Host"])
            self.send_response(200 if self.path == "/healthz" else 503)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    httpd = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}", hosts
    httpd.shutdown()
    httpd.server_close()


def test_check_web_sends_allowed_host_and_reads_status(server, monkeypatch):
    base, hosts = server
    monkeypatch.setenv("ALLOWED_HOSTS", "ripcord.example.com")
    assert healthcheck.check_web(f"{base}/healthz") is True
    assert healthcheck.check_web(f"{base}/broken") is False
    assert hosts == ["ripcord.example.com", "ripcord.example.com"]


def test_check_web_is_false_when_nothing_listens():
    assert healthcheck.check_web("http://127.0.0.1:9/healthz") is False


def test_check_broker_reaches_local_redis(monkeypatch):
    monkeypatch.delenv("CELERY_BROKER_URL", raising=False)
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/0")
    assert healthcheck.check_broker() is True
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:9/0")
    assert healthcheck.check_broker() is False


def test_main_rejects_unknown_check():
    assert healthcheck.main(["nope"]) == 2


def test_web_probe_follows_the_port_uvicorn_reads(monkeypatch):
    monkeypatch.delenv("UVICORN_PORT", raising=False)
    assert healthcheck.web_url() == "http://127.0.0.1:8000/healthz"
    monkeypatch.setenv("UVICORN_PORT", "18123")
    assert healthcheck.web_url() == "http://127.0.0.1:18123/healthz"
