"""Email subscription: double opt-in, update emails with one-click unsubscribe, signed links.

Mail goes to Django's test outbox here; tests/integration/test_statuspage_email.py sends it
through a real SMTP server from a real worker.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.test import Client

from statuspage import mail as statuspage_mail
from statuspage.links import unsubscribe_signature
from statuspage.models import Notice, Subscriber
from statuspage.services import publish_update

LINK = re.compile(r"https?://\S+")


@pytest.fixture
def run_tasks(monkeypatch):
    """Run the status page's tasks at once, in this process (no broker)."""
    from statuspage import dispatch, tasks

    names: dict[str, Any] = {
        dispatch.EMAIL_UPDATE: tasks.email_update_task,
        dispatch.EMAIL_CONFIRMATION: tasks.email_confirmation_task,
    }
    monkeypatch.setattr(dispatch, "_send", lambda name, object_id: names[name](object_id))


def links_in(message) -> list[str]:
    return LINK.findall(message.body)


def subscribe(client: Client, email: str) -> None:
    response = client.post("/status/todo-app/subscribe", {"email": email})
    assert response.status_code == 200
    assert "Check your inbox" in response.content.decode()


def confirm_from(client: Client, message) -> None:
    (link,) = [url for url in links_in(message) if "/confirm/" in url]
    path = link.split("://", 1)[1].split("/", 1)[1]
    asked = client.get("/" + path)
    assert asked.status_code == 200 and "Confirm subscription" in asked.content.decode()
    done = client.post("/" + path)
    assert "Subscription confirmed" in done.content.decode()


def publish(key: str, title: str = "Logins failing") -> None:
    publish_update(
        page_slug="todo-app",
        source_incident_id=1,
        title=title,
        body="We are on it.",
        status="investigating",
        impact="major",
        components={"Login": "major_outage"},
        author_id=None,
        idempotency_key=key,
    )


def test_double_opt_in_then_update_email_then_one_click_unsubscribe(
    todo_page, run_tasks, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client, "ada@example.com")
    (confirmation,) = mail.outbox
    assert confirmation.to == ["ada@example.com"]
    assert "Confirm" in confirmation.subject

    with django_capture_on_commit_callbacks(execute=True):
        publish("before-confirming")
    assert len(mail.outbox) == 1  # nothing before the address is confirmed

    confirm_from(client, confirmation)
    with django_capture_on_commit_callbacks(execute=True):
        publish("after-confirming", title="Logins failing again")
    update_mail = mail.outbox[-1]
    assert update_mail.subject == "[Todo App] Investigating: Logins failing again"
    assert "We are on it." in update_mail.body
    assert isinstance(update_mail, EmailMultiAlternatives)
    (html, mimetype) = update_mail.alternatives[0]
    assert mimetype == "text/html" and "Logins failing again" in str(html)
    unsubscribe = update_mail.extra_headers["List-Unsubscribe"].strip("<>")
    assert update_mail.extra_headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert unsubscribe in update_mail.body

    # A mail client's one-click unsubscribe: a POST with no cookie and no CSRF token.
    path = "/" + unsubscribe.split("://", 1)[1].split("/", 1)[1]
    one_click = Client(enforce_csrf_checks=True).post(
        path, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded"
    )
    assert one_click.status_code == 200
    assert not Subscriber.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        publish("after-leaving")
    assert len(mail.outbox) == 2


def test_a_confirmation_link_works_once(todo_page, run_tasks, django_capture_on_commit_callbacks):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client, "ada@example.com")
    confirm_from(client, mail.outbox[0])
    (link,) = [url for url in links_in(mail.outbox[0]) if "/confirm/" in url]
    path = "/" + link.split("://", 1)[1].split("/", 1)[1]
    assert client.post(path).status_code == 404


def test_subscribing_says_the_same_whether_known_or_not(
    todo_page, run_tasks, django_capture_on_commit_callbacks
):
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client, "ada@example.com")
    confirm_from(client, mail.outbox[0])
    with django_capture_on_commit_callbacks(execute=True):
        subscribe(client, "ADA@example.com")  # already confirmed: no second email
    assert len(mail.outbox) == 1
    assert Subscriber.objects.count() == 1


@pytest.mark.parametrize("email", ["not-an-address", "a\x00@example.com", ""])
def test_a_bad_address_is_a_400_and_nothing_is_stored(todo_page, email):
    response = Client().post("/status/todo-app/subscribe", {"email": email})
    assert response.status_code == 400
    assert not Subscriber.objects.exists()


def test_a_forged_or_foreign_unsubscribe_link_removes_nobody(todo_page):
    ada = Subscriber.objects.create(page=todo_page, email="ada@example.com", token="t1")
    signature = unsubscribe_signature(ada)
    forged = signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")
    client = Client()
    assert client.post(f"/status/todo-app/unsubscribe/{forged}/").status_code == 404
    # Signed for another address than the row now holds: not this subscriber.
    Subscriber.objects.filter(pk=ada.pk).update(email="grace@example.com")
    client.post(f"/status/todo-app/unsubscribe/{signature}/")
    assert Subscriber.objects.filter(pk=ada.pk).exists()


def test_a_retried_update_task_emails_nobody_twice(todo_page, django_capture_on_commit_callbacks):
    from django.utils import timezone

    for n in range(3):
        Subscriber.objects.create(
            page=todo_page, email=f"s{n}@example.com", token=f"t{n}", confirmed_at=timezone.now()
        )
    with django_capture_on_commit_callbacks(execute=False):
        publish("once")
    from statuspage.models import Update

    update = Update.objects.get()
    assert statuspage_mail.send_update(update.pk) == 3
    assert statuspage_mail.send_update(update.pk) == 0  # the retry
    assert len(mail.outbox) == 3
    assert Notice.objects.count() == 3


@pytest.mark.parametrize("junk", ["%00", "%ED%A0%80", "a" * 300, "..%2F"])
def test_junk_in_a_link_is_a_404_never_a_500(todo_page, junk):
    client = Client()
    for kind in ("confirm", "unsubscribe"):
        assert client.get(f"/status/todo-app/{kind}/{junk}/").status_code == 404
        assert client.post(f"/status/todo-app/{kind}/{junk}/").status_code == 404
