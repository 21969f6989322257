"""The drills panel of the runbook page (``runbooks/detail.html``).

A template tag of the incidents app: scorecards are incidents' records, and the runbooks
app sits below incidents, so its view cannot read them itself.
"""

from __future__ import annotations

from typing import Any

from django import template

from incidents import drills

register = template.Library()


@register.inclusion_tag("incidents/_runbook_drills.html", takes_context=True)
def runbook_drills(context: template.Context) -> dict[str, Any]:
    version = context["version"]
    slug = version.runbook.slug
    return {
        "history": drills.history(slug),
        "last": drills.last_drill(slug, version),
        "version": version,
    }
