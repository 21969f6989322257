"""The links a subscriber gets: confirmation by token, unsubscribe signed (it never expires).

An unsubscribe link names the subscriber and their address under Django's signing with a
salt of its own, so it cannot be forged, nor made from a confirmation link, and stops
working for a re-subscribed address only if the subscriber row was replaced.
"""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from django.urls import reverse

from statuspage.models import Subscriber

_SALT = "statuspage.unsubscribe"


def unsubscribe_signature(subscriber: Subscriber) -> str:
    return signing.dumps([subscriber.pk, subscriber.email.lower()], salt=_SALT, compress=True)


def subscriber_for_signature(signature: str) -> tuple[int, str] | None:
    """(subscriber id, email) the signature was made for; None if forged or mangled."""
    try:
        value = signing.loads(signature, salt=_SALT)
    except signing.BadSignature:
        return None
    if not (isinstance(value, list) and len(value) == 2):
        return None
    subscriber_id, email = value
    if not isinstance(subscriber_id, int) or not isinstance(email, str):
        return None
    return subscriber_id, email


def absolute(path: str) -> str:
    return settings.RIPCORD_PUBLIC_URL + path


def page_url(slug: str) -> str:
    return absolute(reverse("statuspage:page", kwargs={"slug": slug}))


def unsubscribe_url(subscriber: Subscriber) -> str:
    signature = unsubscribe_signature(subscriber)
    return absolute(
        reverse(
            "statuspage:unsubscribe",
            kwargs={"slug": subscriber.page.slug, "signature": signature},
        )
    )


def confirm_url(subscriber: Subscriber) -> str:
    return absolute(
        reverse(
            "statuspage:confirm", kwargs={"slug": subscriber.page.slug, "token": subscriber.token}
        )
    )
