"""Every write of the status page: publishing an update, and the subscription's life.

``publish_update`` is the one way anything becomes public. It checks everything before
writing anything (a refusal leaves the page as it was), is idempotent on its key (a retry
returns the first update), and on commit bumps the page's cache version and queues the
email to confirmed subscribers.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from common.text import unstorable
from statuspage import cache, dispatch
from statuspage.models import (
    Component,
    ComponentStatus,
    Impact,
    StatusPage,
    Subscriber,
    Update,
    UpdateStatus,
)

TITLE_MAX = 200
BODY_MAX = 5000
KEY_MAX = 120


class PublishRefused(Exception):
    """Nothing was published; ``message`` says why (shown to the publisher)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _checked_text(label: str, value: str, limit: int, *, required: bool) -> str:
    if not isinstance(value, str):
        raise PublishRefused(f"The {label} must be text.")
    if problem := unstorable(value):
        raise PublishRefused(f"The {label} {problem}.")
    value = value.strip()
    if required and not value:
        raise PublishRefused(f"The {label} is empty.")
    if len(value) > limit:
        raise PublishRefused(f"The {label} is {len(value)} characters long; at most {limit}.")
    return value


def _checked_choice(
    label: str, value: str, choices: type[ComponentStatus | UpdateStatus | Impact]
) -> str:
    if value not in choices.values:
        allowed = ", ".join(choices.values)
        raise PublishRefused(f"Unknown {label} {value!r}; one of: {allowed}.")
    return value


def publish_update(
    *,
    page_slug: str,
    source_incident_id: int | None,
    title: str,
    body: str,
    status: str,
    impact: str,
    components: Mapping[str, str],
    author_id: int | None,
    idempotency_key: str,
) -> Update:
    """Publish one update to a page, setting the named components' statuses.

    Raises ``PublishRefused`` (and writes nothing) for an unknown page, component, status
    or impact, an empty or too long title, a too long body, or text that cannot be stored.
    Publishing again with the same ``idempotency_key`` returns the first update unchanged.
    """
    page_slug = _checked_text("page", page_slug, 60, required=True)
    title = _checked_text("title", title, TITLE_MAX, required=True)
    body = _checked_text("body", body, BODY_MAX, required=False)
    key = _checked_text("idempotency key", idempotency_key, KEY_MAX, required=True)
    _checked_choice("status", status, UpdateStatus)
    _checked_choice("impact", impact, Impact)
    for name, component_status in components.items():
        _checked_text("component name", name, 80, required=True)
        _checked_choice(f"status for component {name!r}", component_status, ComponentStatus)

    with transaction.atomic():
        # The page row is the lock: two publishers never interleave their component changes.
        page = StatusPage.objects.select_for_update().filter(slug=page_slug).first()
        if page is None:
            raise PublishRefused(f"There is no status page {page_slug!r}.")
        existing = Update.objects.filter(idempotency_key=key).first()
        if existing is not None:
            if existing.page_id != page.pk:
                raise PublishRefused("This idempotency key was used on another status page.")
            return existing
        by_name = {c.name: c for c in page.components.all()}
        unknown = sorted(set(components) - set(by_name))
        if unknown:
            names = ", ".join(repr(n) for n in unknown)
            raise PublishRefused(
                f"Status page {page.slug!r} has no component {names}; it has: "
                + ", ".join(by_name)
                + "."
            )
        affected = []
        for name, new_status in components.items():
            component = by_name[name]
            if component.status != new_status:
                affected.append(
                    {"name": name, "old_status": component.status, "new_status": new_status}
                )
                component.status = new_status
                component.save(update_fields=["status", "updated_at"])
        update = Update.objects.create(
            page=page,
            source_incident_id=source_incident_id,
            title=title,
            body=body,
            status=status,
            impact=impact,
            components={c.name: c.status for c in by_name.values()},
            affected=affected,
            author_id=author_id,
            idempotency_key=key,
        )
        transaction.on_commit(lambda: cache.bump(page.slug))
        transaction.on_commit(lambda: dispatch.email_update(update.pk))
    return update


# --- subscriptions: double opt-in, signed unsubscribe ----------------------------------


class SubscribeRefused(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def subscribe(*, page_slug: str, email: str) -> Subscriber | None:
    """Ask ``email`` to confirm a subscription (double opt-in); None if already confirmed.

    The caller answers the same either way, so the page never tells who is subscribed.
    """
    email = (email or "").strip()
    if problem := unstorable(email):
        raise SubscribeRefused(f"The address {problem}.")
    try:
        validate_email(email)
    except ValidationError:
        raise SubscribeRefused("That is not an email address.") from None
    page = StatusPage.objects.filter(slug=page_slug).first()
    if page is None:
        raise SubscribeRefused(f"There is no status page {page_slug!r}.")
    with transaction.atomic():
        subscriber = Subscriber.objects.filter(page=page, email__iexact=email).first()
        if subscriber is not None and subscriber.confirmed_at is not None:
            return None
        if subscriber is None:
            try:
                with transaction.atomic():
                    subscriber = Subscriber.objects.create(
                        page=page, email=email, token=secrets.token_urlsafe(32)
                    )
            except IntegrityError:  # the same address, at the same moment
                return None
        sent = subscriber
        transaction.on_commit(lambda: dispatch.email_confirmation(sent.pk))
    return subscriber


def confirm(*, page_slug: str, token: str) -> Subscriber | None:
    """Confirm the subscription whose link carried ``token``; None if no such link."""
    with transaction.atomic():
        subscriber = (
            Subscriber.objects.select_for_update().filter(page__slug=page_slug, token=token).first()
        )
        if subscriber is None:
            return None
        if subscriber.confirmed_at is None:
            subscriber.confirmed_at = timezone.now()
            # The confirmation link is spent: it cannot confirm again.
            subscriber.token = secrets.token_urlsafe(32)
            subscriber.save(update_fields=["confirmed_at", "token"])
    return subscriber


def unsubscribe(*, subscriber_id: int, page_slug: str, email: str) -> bool:
    """Forget the subscriber a signed link names; False if already gone."""
    deleted, _ = Subscriber.objects.filter(
        pk=subscriber_id, page__slug=page_slug, email__iexact=email
    ).delete()
    return deleted > 0


def ensure_page(slug: str, name: str, components: list[str]) -> StatusPage:
    """A page with these components (created operational); what exists is kept."""
    page, _ = StatusPage.objects.get_or_create(slug=slug, defaults={"name": name})
    for position, component in enumerate(components):
        Component.objects.get_or_create(page=page, name=component, defaults={"position": position})
    return page
