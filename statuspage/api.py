"""API: status pages, their components and updates; publishing goes through publish_update."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

from django.http import HttpRequest
from ninja import Field, Path, Router, Schema, Status
from ninja.errors import HttpError

from common import capabilities
from common.api import INPUT, READ, WRITE, InputSchema, actor
from common.api_auth import api_auth
from statuspage import access, selectors, services
from statuspage.models import Component, StatusPage, Update

router = Router(auth=api_auth, tags=["status pages"])

# No pattern: a slug that is not one names no page (404), like any unknown slug.
Slug = Annotated[str, Path(description="The page's slug")]


class ComponentOut(Schema):
    name: str
    position: int
    status: str
    updated_at: datetime


class UpdateOut(Schema):
    id: int
    source_incident_id: int | None
    title: str
    body: str
    status: str
    impact: str
    components: dict[str, str]
    affected: list[dict[str, str]]
    author: str | None
    created_at: datetime


class PageOut(Schema):
    slug: str
    name: str
    url: str
    indicator: str
    description: str
    components: list[ComponentOut]


class PageSummaryOut(Schema):
    slug: str
    name: str
    url: str


class PublishIn(InputSchema):
    title: str = Field(max_length=services.TITLE_MAX)
    body: str = Field("", max_length=services.BODY_MAX)
    status: str
    impact: str = "none"
    components: dict[str, str] = Field(default_factory=dict)
    source_incident_id: int | None = Field(None, ge=1, le=2**63 - 1)
    # Send one, and a retry of this request publishes nothing twice; none: a fresh one.
    idempotency_key: str | None = Field(None, min_length=1, max_length=services.KEY_MAX)


def _require_ripcord_user(request: HttpRequest) -> None:
    if not capabilities.can_use_ripcord(request.user):
        raise HttpError(403, "Your account has no Ripcord role yet; ask a commander.")


def _page(request: HttpRequest, slug: str) -> StatusPage:
    _require_ripcord_user(request)
    return selectors.get_page(slug)


def _component(component: Component) -> ComponentOut:
    return ComponentOut(
        name=component.name,
        position=component.position,
        status=component.status,
        updated_at=component.updated_at,
    )


def _update(update: Update) -> UpdateOut:
    return UpdateOut(
        id=update.pk,
        source_incident_id=update.source_incident_id,
        title=update.title,
        body=update.body,
        status=update.status,
        impact=update.impact,
        components=update.components,
        affected=update.affected,
        author=update.author.get_username() if update.author else None,
        created_at=update.created_at,
    )


@router.get("", response={200: list[PageSummaryOut], **READ})
def list_status_pages(request: HttpRequest) -> list[PageSummaryOut]:
    """Every status page, with its public address."""
    _require_ripcord_user(request)
    return [
        PageSummaryOut(slug=p.slug, name=p.name, url=selectors.public_path(p.slug))
        for p in StatusPage.objects.order_by("slug")
    ]


@router.get("/{slug}", response={200: PageOut, **READ})
def get_status_page(request: HttpRequest, slug: Slug) -> PageOut:
    """A page as the public sees it now: overall status and each component's."""
    state = selectors.public_state(_page(request, slug))
    return PageOut(
        slug=state.page.slug,
        name=state.page.name,
        url=selectors.public_path(state.page.slug),
        indicator=state.indicator,
        description=state.description,
        components=[_component(c) for c in state.components],
    )


@router.get("/{slug}/components", response={200: list[ComponentOut], **READ})
def list_status_components(request: HttpRequest, slug: Slug) -> list[ComponentOut]:
    return [_component(c) for c in _page(request, slug).components.all()]


@router.get("/{slug}/updates", response={200: list[UpdateOut], **READ})
def list_status_updates(request: HttpRequest, slug: Slug) -> list[UpdateOut]:
    """The page's updates, newest first (the latest 50), with who published each."""
    page = _page(request, slug)
    return [_update(u) for u in selectors.feed_updates(page, with_author=True)]


@router.post("/{slug}/updates", response={201: UpdateOut, **WRITE, **INPUT})
def publish_status_update(
    request: HttpRequest, slug: Slug, payload: PublishIn
) -> Status[UpdateOut]:
    """Publish an update (commanders; the product manager for their active incident)."""
    user = actor(request)
    _require_ripcord_user(request)
    right = access.publish_right(user, payload.source_incident_id)
    if not right.allowed:
        raise HttpError(403, "Only a commander or the incident's product manager may publish.")
    if not right.source_exists:
        raise HttpError(400, f"There is no incident {payload.source_incident_id}.")
    selectors.get_page(slug)  # 404 before anything else is said about it
    try:
        update = services.publish_update(
            page_slug=slug,
            source_incident_id=payload.source_incident_id,
            title=payload.title,
            body=payload.body,
            status=payload.status,
            impact=payload.impact,
            components=payload.components,
            author_id=user.pk,
            idempotency_key=payload.idempotency_key or f"api-{uuid.uuid4()}",
        )
    except services.PublishRefused as refused:
        raise HttpError(400, refused.message) from None
    return Status(201, _update(update))
