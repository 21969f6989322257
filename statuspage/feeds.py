"""The Atom feed of a status page (Django's syndication framework): one entry per update."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.contrib.syndication.views import Feed
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed

from statuspage import selectors
from statuspage.models import StatusPage, Update

if TYPE_CHECKING:  # generic in django-stubs only
    _Feed = Feed[Update, StatusPage]
else:
    _Feed = Feed


class UpdatesFeed(_Feed):
    feed_type = Atom1Feed

    def get_object(self, request: HttpRequest, slug: str) -> StatusPage:
        return selectors.get_page(slug)

    def title(self, obj: StatusPage) -> str:
        return f"{obj.name} status"

    def subtitle(self, obj: StatusPage) -> str:
        return f"Updates published on the {obj.name} status page"

    def link(self, obj: StatusPage) -> str:
        return reverse("statuspage:page", kwargs={"slug": obj.slug})

    def feed_url(self, obj: StatusPage) -> str:
        return reverse("statuspage:feed", kwargs={"slug": obj.slug})

    def items(self, obj: StatusPage) -> list[Update]:
        return selectors.feed_updates(obj)

    def item_title(self, item: Update) -> str:
        return f"{item.get_status_display()}: {item.title}"

    def item_description(self, item: Update) -> str:
        return item.body or item.title

    def item_link(self, item: Update) -> str:
        page = reverse("statuspage:page", kwargs={"slug": item.page.slug})
        return f"{page}#update-{item.pk}"

    def item_guid(self, item: Update) -> str:
        return f"tag:ripcord,status:{item.page.slug}:update-{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: Update) -> datetime:
        return item.created_at

    def item_updateddate(self, item: Update) -> datetime:
        return item.created_at
