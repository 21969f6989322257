"""A subscriber gets the update by email from a real worker through a real SMTP server.

uvicorn serves the page and the API, a Celery worker on the control queue sends the mail,
aiosmtpd (in this process) receives it: double opt-in, the update with plain and HTML
parts and one-click unsubscribe headers, then the unsubscribe itself.
"""

from __future__ import annotations

import re
import urllib.parse
import urllib.request

import pytest

from statuspage.models import Subscriber
from tests.integration.conftest import ARTIFACTS
from tests.integration.http import ApiClient
from tests.integration.processes import start_worker, wait_for
from tests.integration.statuspage_peers import SmtpServer, commander_token, todo_page

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

ADDRESS = "reader@todoapp.example"


@pytest.fixture(scope="module")
def smtp():
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def mail_worker(smtp, asgi_server, django_db_setup, django_db_blocker):
    """The housekeeping worker (control queue), mailing through ``smtp``."""
    with django_db_blocker.unblock():
        worker = start_worker(
            ARTIFACTS,
            queues="control",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            DEFAULT_FROM_EMAIL="status@todoapp.example",
            RIPCORD_PUBLIC_URL=asgi_server.url,
        )
    yield worker
    worker.stop()


def post_form(url: str, fields: dict[str, str]) -> tuple[int, str]:
    data = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(url, data=data, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded")
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read().decode()


def get(url: str) -> tuple[int, str]:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status, response.read().decode()


def parts(message) -> dict[str, str]:
    return {
        part.get_content_type(): part.get_content()
        for part in message.walk()
        if part.get_content_type() in ("text/plain", "text/html")
    }


@pytest.mark.django_db(transaction=True)
def test_subscribe_confirm_get_the_update_and_unsubscribe(smtp, mail_worker, asgi_server):
    todo_page()
    inbox = smtp.inbox
    api = ApiClient(asgi_server.url, commander_token())
    page = f"{asgi_server.url}/status/todo-app/"

    status, html = post_form(page + "subscribe", {"email": ADDRESS})
    assert status == 200 and "Check your inbox" in html
    wait_for(lambda: inbox.count() == 1, timeout=30, what="the confirmation email")
    confirmation = inbox.messages[0]
    assert confirmation["To"] == ADDRESS
    (confirm_url,) = re.findall(r"http://\S+/confirm/\S+/", parts(confirmation)["text/plain"])
    assert confirm_url.startswith(asgi_server.url)
    assert "Confirm subscription" in get(confirm_url)[1]  # a link scanner's GET confirms nothing
    assert Subscriber.objects.get(email=ADDRESS).confirmed_at is None
    assert "Subscription confirmed" in post_form(confirm_url, {})[1]

    published = api.post(
        "/status-pages/todo-app/updates",
        {
            "title": "Saving tasks fails",
            "body": "Some changes are not saved; we are restoring service.",
            "status": "identified",
            "impact": "major",
            "components": {"Task data": "major_outage"},
            "idempotency_key": "email-test-1",
        },
    )
    assert published.status_code == 201, published.body
    wait_for(lambda: inbox.count() == 2, timeout=30, what="the update email")
    update = inbox.messages[1]
    assert inbox.envelopes[1] == ("status@todoapp.example", [ADDRESS])
    assert update["Subject"] == "[Todo App] Identified: Saving tasks fails"
    assert update.get_content_type() == "multipart/alternative"
    bodies = parts(update)
    assert "Some changes are not saved" in bodies["text/plain"]
    assert "<h1" in bodies["text/html"] and "Saving tasks fails" in bodies["text/html"]
    assert update["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_url = str(update["List-Unsubscribe"]).strip().strip("<>")
    assert unsubscribe_url.startswith(f"{asgi_server.url}/status/todo-app/unsubscribe/")
    assert unsubscribe_url in bodies["text/plain"]

    # The mail client's one-click unsubscribe (RFC 8058): a bare POST, no cookie, no token.
    status, html = post_form(unsubscribe_url, {"List-Unsubscribe": "One-Click"})
    assert status == 200 and "You are unsubscribed" in html
    assert not Subscriber.objects.filter(email=ADDRESS).exists()

    again = api.post(
        "/status-pages/todo-app/updates",
        {"title": "Fixed", "status": "resolved", "idempotency_key": "email-test-2"},
    )
    assert again.status_code == 201
    wait_for(
        lambda: f"update {again.json()['id']} emailed to 0" in mail_worker.log(),
        timeout=30,
        what="the worker to email the second update to nobody",
    )
    assert inbox.count() == 2
