"""Real peers for deliveries: an HTTP server receiving webhooks, an SMTP server (aiosmtpd).

``WebhookPeer`` records every request (path, headers, raw body) and answers by path:
``/flaky`` fails its first two requests with 500 and accepts after that, ``/down``
always answers 500 with a reason; anything else accepts. Accepted messages are
de-duplicated by ``Idempotency-Key``, as a careful receiver would.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from aiosmtpd.controller import Controller

from tests.integration.processes import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    raw: bytes


class WebhookPeer(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[Received] = []
        self.accepted: dict[tuple[str, str], Received] = {}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def hits(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.requests if r.path == path]

    def accepted_at(self, path: str) -> list[Received]:
        with self.lock:
            return [r for (p, _), r in self.accepted.items() if p == path]


class _Handler(BaseHTTPRequestHandler):
    server: WebhookPeer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        got = Received(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
        with self.server.lock:
            self.server.requests.append(got)
            tries = len([r for r in self.server.requests if r.path == self.path])
            fail = self.path == "/down" or (self.path == "/flaky" and tries <= 2)
            if not fail:
                self.server.accepted.setdefault((self.path, got.headers["idempotency-key"]), got)
        body = b"receiver unavailable" if fail else b"ok"
        self.send_response(500 if fail else 200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@contextmanager
def webhook_peer() -> Iterator[WebhookPeer]:
    server = WebhookPeer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


class MailSink:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], EmailMessage]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
        return "250 Message accepted"


@contextmanager
def smtp_peer() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()
