"""The status page's emails (Django's mail framework): plain and HTML parts, one-click unsubscribe.

Each update email carries ``List-Unsubscribe`` (the signed link) and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click`` (RFC 8058), so mail clients offer their own unsubscribe button.
A ``Notice`` row per (update, subscriber) is written once that email went out: a retried task
skips whoever already has it.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.template.loader import render_to_string

from statuspage import links
from statuspage.models import Notice, Subscriber, Update

logger = logging.getLogger(__name__)


def _message(
    subject: str, template: str, context: dict[str, object], to: str, headers: dict[str, str]
) -> EmailMultiAlternatives:
    text = render_to_string(f"statuspage/email/{template}.txt", context)
    html = render_to_string(f"statuspage/email/{template}.html", context)
    message = EmailMultiAlternatives(
        subject=subject,
        body=text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers=headers,
    )
    message.attach_alternative(html, "text/html")
    return message


def update_message(update: Update, subscriber: Subscriber) -> EmailMultiAlternatives:
    unsubscribe = links.unsubscribe_url(subscriber)
    context = {
        "update": update,
        "page": update.page,
        "page_url": links.page_url(update.page.slug),
        "unsubscribe_url": unsubscribe,
    }
    subject = f"[{update.page.name}] {update.get_status_display()}: {update.title}"
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
        "List-Id": f"{update.page.name} status <{update.page.slug}.status.ripcord>",
    }
    return _message(subject, "update", context, subscriber.email, headers)


def confirmation_message(subscriber: Subscriber) -> EmailMultiAlternatives:
    context = {
        "page": subscriber.page,
        "page_url": links.page_url(subscriber.page.slug),
        "confirm_url": links.confirm_url(subscriber),
    }
    subject = f"Confirm your subscription to {subscriber.page.name} status"
    return _message(subject, "confirm", context, subscriber.email, {})


def send_update(update_id: int) -> int:
    """Email the update to every confirmed subscriber who does not have it yet; how many sent."""
    update = Update.objects.select_related("page").filter(pk=update_id).first()
    if update is None:
        return 0
    pending = (
        Subscriber.objects.filter(page=update.page, confirmed_at__isnull=False)
        .exclude(notices__update=update)
        .select_related("page")
        .order_by("pk")
    )
    sent = 0
    with get_connection() as connection:
        for subscriber in pending:
            connection.send_messages([update_message(update, subscriber)])
            Notice.objects.get_or_create(update=update, subscriber=subscriber)
            sent += 1
    logger.info("status page %s: update %s emailed to %d", update.page.slug, update.pk, sent)
    return sent


def send_confirmation(subscriber_id: int) -> bool:
    subscriber = Subscriber.objects.select_related("page").filter(pk=subscriber_id).first()
    if subscriber is None or subscriber.confirmed_at is not None:
        return False
    confirmation_message(subscriber).send(fail_silently=False)
    return True
