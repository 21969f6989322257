"""API: the postmortem as Markdown, the same document as the page's download."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from ninja import Router, Schema

from common.api import READ
from common.api_auth import api_auth
from incidents import access
from postmortem.data import postmortem_data
from postmortem.markdown import render_markdown

router = Router(auth=api_auth, tags=["postmortem"])


class PostmortemOut(Schema):
    markdown: str
    generated_at: datetime


@router.get("/{incident_id}/postmortem", response={200: PostmortemOut, **READ})
def get_postmortem(request: HttpRequest, incident_id: int) -> PostmortemOut:
    """The postmortem as Markdown (viewers get it without step commands)."""
    incident, acc = access.get_incident_for_user(request.user, incident_id)
    pm = postmortem_data(incident, audience=acc.audience)
    return PostmortemOut(markdown=render_markdown(pm), generated_at=pm.generated_at)
