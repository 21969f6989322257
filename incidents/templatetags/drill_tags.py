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


@register.inclusion_tag("incidents/_scorecard.html", takes_context=True)
def incident_scorecard(context: template.Context) -> dict[str, Any]:
    """A resolved drill's scorecard on its incident page (nothing for other incidents)."""
    incident = context["incident"]
    card = (
        drills.scorecard_of(incident.pk) if incident.is_drill and not incident.is_active else None
    )
    return {"card": card, "incident": incident}
