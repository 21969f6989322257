"""The follow-ups panel on the incident page (its own reads, so the page's context stays as is)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import timezone

from incidents.followups import panel_context

register = template.Library()


@register.inclusion_tag("incidents/_follow_ups.html", takes_context=True)
def follow_ups_panel(context: template.Context) -> dict[str, Any]:
    return panel_context(context["incident"], context["audience"], timezone.localdate())
