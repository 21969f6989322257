"""The matrix for the status page: public pages anyone reads, and its API.

The public page, feed, JSON and subscription links need no account: every actor, the
anonymous one included, gets the same answer. Publishing over the API is for commanders
(and the incident's product manager, which no actor of the matrix is:
tests/api/test_status_pages.py covers that holder).
"""

from __future__ import annotations

from django.contrib.auth.models import User

from common import capabilities
from statuspage import access as statuspage_access
from statuspage.links import unsubscribe_signature
from statuspage.models import StatusPage, Subscriber, Update
from tests.permissions_matrix.rows import OK, OPEN_INCIDENT, RUNBOOKS, row
from tests.permissions_matrix.world import Case, Endpoint, Prepared, World

PUBLIC = row(OK, OK, OK, OK, OK, OK, OK)  # no account needed, the same for everyone
EMAIL = "matrix-reader@example.com"


def todo_app(world: World, user: User | None) -> Prepared:
    return Prepared(kwargs={"slug": "todo-app"})


def subscribing(world: World, user: User | None) -> Prepared:
    return Prepared(kwargs={"slug": "todo-app"}, data={"email": EMAIL})


def _subscriber() -> Subscriber:
    page = StatusPage.objects.get(slug="todo-app")
    return Subscriber.objects.create(page=page, email=EMAIL, token="matrix-confirm-token")


def unconfirmed(world: World, user: User | None) -> Prepared:
    subscriber = _subscriber()
    return Prepared(kwargs={"slug": "todo-app", "token": subscriber.token})


def with_signed_link(world: World, user: User | None) -> Prepared:
    signature = unsubscribe_signature(_subscriber())
    return Prepared(kwargs={"slug": "todo-app", "signature": signature})


def publishing(world: World, user: User | None) -> Prepared:
    data = {
        "title": "Published by the matrix",
        "status": "investigating",
        "impact": "minor",
        "components": {"API": "degraded_performance"},
        "source_incident_id": world.incident.pk,
    }
    return Prepared(kwargs={"slug": "todo-app"}, data=data)


def anyone(case: Case) -> bool:
    return True


def can_use_ripcord(case: Case) -> bool:
    return capabilities.can_use_ripcord(case.person)


def can_publish(case: Case) -> bool:
    return statuspage_access.may_publish(case.person, case.world.incident.pk)


def subscription_asked(case: Case) -> bool:
    return Subscriber.objects.filter(email=EMAIL, confirmed_at__isnull=True).exists()


def confirmed(case: Case) -> bool:
    return Subscriber.objects.filter(email=EMAIL, confirmed_at__isnull=False).exists()


def unsubscribed(case: Case) -> bool:
    return not Subscriber.objects.filter(email=EMAIL).exists()


def published(case: Case) -> bool:
    return Update.objects.filter(title="Published by the matrix", author=case.user).exists()


STATUS_PAGES: list[Endpoint] = [
    Endpoint("status-page", "statuspage:page", "GET", PUBLIC, anyone, prepare=todo_app),
    Endpoint("status-feed", "statuspage:feed", "GET", PUBLIC, anyone, prepare=todo_app),
    Endpoint("status-summary", "statuspage:summary", "GET", PUBLIC, anyone, prepare=todo_app),
    Endpoint(
        "status-subscribe",
        "statuspage:subscribe",
        "POST",
        PUBLIC,
        anyone,
        prepare=subscribing,
        done=subscription_asked,
    ),
    Endpoint(
        "status-confirm-ask", "statuspage:confirm", "GET", PUBLIC, anyone, prepare=unconfirmed
    ),
    Endpoint(
        "status-confirm",
        "statuspage:confirm",
        "POST",
        PUBLIC,
        anyone,
        prepare=unconfirmed,
        done=confirmed,
    ),
    Endpoint(
        "status-unsubscribe-ask",
        "statuspage:unsubscribe",
        "GET",
        PUBLIC,
        anyone,
        prepare=with_signed_link,
    ),
    Endpoint(
        "status-unsubscribe",
        "statuspage:unsubscribe",
        "POST",
        PUBLIC,
        anyone,
        prepare=with_signed_link,
        done=unsubscribed,
    ),
    Endpoint(
        "status-pages",
        "api:list_status_pages",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        api=True,
        prepare=lambda world, user: Prepared(),
    ),
    Endpoint(
        "status-page-get",
        "api:get_status_page",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        api=True,
        prepare=todo_app,
    ),
    Endpoint(
        "status-components",
        "api:list_status_components",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        api=True,
        prepare=todo_app,
    ),
    Endpoint(
        "status-updates",
        "api:list_status_updates",
        "GET",
        RUNBOOKS,
        can_use_ripcord,
        api=True,
        prepare=todo_app,
    ),
    Endpoint(
        "status-publish",
        "api:publish_status_update",
        "POST",
        OPEN_INCIDENT,  # commanders (the IC is one); the PM of the incident too, see above
        can_publish,
        api=True,
        ok_status=201,
        prepare=publishing,
        done=published,
    ),
]
