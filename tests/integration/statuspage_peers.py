"""A real SMTP server in the test process (aiosmtpd), and the status page's people and page."""

from __future__ import annotations

import email
import email.policy
import threading
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from common.capabilities import COMMANDERS
from statuspage import services
from tests.api.conftest import make_token
from tests.factories import make_user
from tests.integration.processes import free_port


class Inbox:
    """aiosmtpd's handler: every message received, parsed, in arrival order."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self._lock:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"

    def count(self) -> int:
        with self._lock:
            return len(self.messages)


class SmtpServer:
    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)

    def __enter__(self) -> SmtpServer:
        self.controller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.controller.stop()


def todo_page() -> None:
    """The migration's page again (a transactional test's flush removed it)."""
    services.ensure_page("todo-app", "Todo App", ["Web app", "API", "Login", "Task data"])


def commander_token() -> str:
    return make_token(make_user("status-ic", COMMANDERS))
