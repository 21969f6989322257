"""How a message reaches each kind of destination. One function per kind, each
tested against a real peer (tests/comms/test_deliveries.py).

* ``slack``: an incoming webhook taking ``{"text": ...}`` (Slack, Mattermost and
  Rocket.Chat accept the same JSON);
* ``teams``: a Teams Workflows webhook taking a message with one Adaptive Card;
* ``webhook``: a generic JSON body, signed with HMAC-SHA256 over the raw bytes
  (``X-Ripcord-Signature: sha256=<hex>``);
* ``email``: Django's mail framework over SMTP, plain text and HTML parts;
* ``status_page``: Ripcord's own status page (``statuspage.services.publish_update``).

Every kind carries the delivery's idempotency key: the ``Idempotency-Key`` header on
webhooks, the ``Message-ID`` of a mail, the key itself for the status page; a retry
sends the same key. Addresses and keys are read from the worker's environment at
delivery time and never appear in a failure's reason (``DeliveryError``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.mail import EmailMultiAlternatives, get_connection
from django.utils.html import escape, linebreaks

from runbooks.communication import DestinationSpec
from statuspage.services import PublishRefused, publish_update

TIMEOUT_SECONDS = 10
USER_AGENT = "Ripcord-Communications/1"


class DeliveryError(Exception):
    """A delivery attempt failed; the message is the reason shown (no secret in it)."""


@dataclass(frozen=True)
class Message:
    incident_id: int
    incident_title: str
    item: str
    audience: str
    title: str
    body: str
    sent_at: str
    idempotency_key: str
    author_id: int | None
    facts: dict[str, Any] = field(default_factory=dict)


def resolve(reference: str | None, destination: DestinationSpec, env: dict[str, str]) -> str:
    """The value an ``env:NAME`` reference names on this worker."""
    assert reference is not None and reference.startswith("env:")
    name = reference.removeprefix("env:")
    value = env.get(name, "")
    if not value:
        raise DeliveryError(
            f"destination {destination.id!r} expects environment variable {name} on the worker"
        )
    return value


def post_json(url: str, raw: bytes, headers: dict[str, str], secrets: list[str]) -> None:
    request = urllib.request.Request(url, data=raw, method="POST")
    for name, value in {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        **headers,
    }.items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        text = exc.read(300).decode("utf-8", "replace").strip()
        raise DeliveryError(
            _hide(f"HTTP {exc.code} {exc.reason}: {text}".rstrip(": "), secrets)
        ) from None
    except (TimeoutError, urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(_hide(f"could not reach the destination: {reason}", secrets)) from None


def _hide(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "[secret]")
    return text[:500]


def text_of(message: Message) -> str:
    return f"{message.title}\n{message.body}"


def slack(destination: DestinationSpec, message: Message, env: dict[str, str]) -> None:
    url = resolve(destination.url, destination, env)
    raw = json.dumps({"text": f"*{message.title}*\n{message.body}"}).encode()
    post_json(url, raw, {"Idempotency-Key": message.idempotency_key}, [url])


def adaptive_card(message: Message) -> dict[str, Any]:
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": {
                    "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                    "type": "AdaptiveCard",
                    "version": "1.4",
                    "body": [
                        {
                            "type": "TextBlock",
                            "text": message.title,
                            "weight": "Bolder",
                            "size": "Medium",
                            "wrap": True,
                        },
                        {"type": "TextBlock", "text": message.body, "wrap": True},
                    ],
                },
            }
        ],
    }


def teams(destination: DestinationSpec, message: Message, env: dict[str, str]) -> None:
    url = resolve(destination.url, destination, env)
    raw = json.dumps(adaptive_card(message)).encode()
    post_json(url, raw, {"Idempotency-Key": message.idempotency_key}, [url])


def signature(key: str, raw: bytes) -> str:
    return "sha256=" + hmac.new(key.encode(), raw, hashlib.sha256).hexdigest()


def webhook(destination: DestinationSpec, message: Message, env: dict[str, str]) -> None:
    url = resolve(destination.url, destination, env)
    key = resolve(destination.secret, destination, env)
    raw = json.dumps(
        {
            "incident": {"id": message.incident_id, "title": message.incident_title},
            "item": message.item,
            "audience": message.audience,
            "title": message.title,
            "body": message.body,
            "sent_at": message.sent_at,
            "idempotency_key": message.idempotency_key,
        },
        separators=(",", ":"),
    ).encode()
    headers = {
        "Idempotency-Key": message.idempotency_key,
        "X-Ripcord-Signature": signature(key, raw),
    }
    post_json(url, raw, headers, [url, key])


def email(destination: DestinationSpec, message: Message, env: dict[str, str]) -> None:
    recipients = destination.recipients.get(message.audience)  # type: ignore[call-overload]
    if not recipients:
        raise DeliveryError(
            f"destination {destination.id!r} has no recipients for {message.audience}"
        )
    mail = EmailMultiAlternatives(
        subject=message.title,
        body=message.body + "\n",
        to=list(recipients),
        headers={
            "Message-ID": f"<{message.idempotency_key}@ripcord>",
            "X-Ripcord-Incident": str(message.incident_id),
        },
    )
    html = f"<h1>{escape(message.title)}</h1>\n{linebreaks(message.body, autoescape=True)}"
    mail.attach_alternative(html, "text/html")
    try:
        with get_connection(fail_silently=False) as connection:
            connection.send_messages([mail])
    except Exception as exc:  # smtplib's and socket's errors alike
        raise DeliveryError(f"mail not accepted: {exc.__class__.__name__}: {exc}"[:500]) from None


def status_page(destination: DestinationSpec, message: Message, env: dict[str, str]) -> None:
    """Publish on Ripcord's own page: only the text the owner sent, the public headline,
    and the status, impact and components fixed at send time (``Send.facts``)."""
    assert destination.page is not None
    facts = message.facts
    components = facts.get("components", {})
    try:
        publish_update(
            page_slug=destination.page,
            source_incident_id=message.incident_id,
            title=destination.headline or "Service update",
            body=message.body,
            status=str(facts.get("status", "identified")),
            impact=str(facts.get("impact", "minor")),
            components=components if isinstance(components, dict) else {},
            author_id=message.author_id,
            idempotency_key=message.idempotency_key,
        )
    except PublishRefused as exc:
        raise DeliveryError(f"the status page refused the update: {exc}") from None


Transport = Callable[[DestinationSpec, Message, dict[str, str]], None]
TRANSPORTS: dict[str, Transport] = {
    "slack": slack,
    "teams": teams,
    "webhook": webhook,
    "email": email,
    "status_page": status_page,
}


def deliver(
    destination: DestinationSpec, message: Message, env: dict[str, str] | None = None
) -> None:
    TRANSPORTS[destination.kind](destination, message, dict(os.environ) if env is None else env)
