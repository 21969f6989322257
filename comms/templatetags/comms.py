"""The communications panel on the incident page, without incidents importing comms:
``{% load comms %}{% comms_panel %}`` in the page, ``{% comms_fragments %}`` in the
live view (each fragment at top level, as live.js replaces them), ``{% comms_style %}``
for the reader's own controls and banners."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from comms.live import FRAGMENTS, panel_context, render_parts, style_block

register = template.Library()


@register.simple_tag(takes_context=True)
def comms_panel(context: template.Context) -> SafeString:
    incident = context["incident"]
    return mark_safe(render_to_string("comms/_panel.html", panel_context(incident, timezone.now())))


@register.simple_tag(takes_context=True)
def comms_fragments(context: template.Context) -> SafeString:
    return mark_safe(render_parts(context["incident"], frozenset(FRAGMENTS), timezone.now()))


@register.simple_tag(takes_context=True)
def comms_style(context: template.Context) -> SafeString:
    return style_block(context.get("access"))
