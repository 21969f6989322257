"""Admin: pages and their components. Statuses change only by publishing (publish_update)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.contrib import admin
from django.http import HttpRequest

from statuspage.models import Component, StatusPage, Subscriber, Update

# Generic only in the type stubs (common/admin.py says why).
if TYPE_CHECKING:
    _Inline = admin.TabularInline[Component, StatusPage]
    _PageAdmin = admin.ModelAdmin[StatusPage]
    _UpdateAdmin = admin.ModelAdmin[Update]
    _SubscriberAdmin = admin.ModelAdmin[Subscriber]
else:
    _Inline = admin.TabularInline
    _PageAdmin = _UpdateAdmin = _SubscriberAdmin = admin.ModelAdmin


class ComponentInline(_Inline):
    model = Component
    extra = 0
    fields = ["name", "position", "status"]
    readonly_fields = ["status"]  # an update sets it, so the page, feed and cache agree


@admin.register(StatusPage)
class StatusPageAdmin(_PageAdmin):
    list_display = ["slug", "name"]
    inlines = [ComponentInline]


@admin.register(Update)
class UpdateAdmin(_UpdateAdmin):
    """The record of what was published: read-only (a correction is another update)."""

    list_display = ["created_at", "page", "title", "status", "impact", "source_incident_id"]
    list_filter = ["page", "status"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Update | None = None) -> bool:
        return False


@admin.register(Subscriber)
class SubscriberAdmin(_SubscriberAdmin):
    list_display = ["email", "page", "confirmed_at", "created_at"]
    list_filter = ["page"]
    fields = ["page", "email", "confirmed_at", "created_at"]
    readonly_fields = ["page", "email", "confirmed_at", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # only the double opt-in adds a subscriber
