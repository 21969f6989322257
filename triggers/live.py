"""The one place a proposal's news leaves for open pages: commanders' banner and notices.

Sent through ``common.notify`` to the "commanders" group once the write commits. Every
commander's page shows the notice (and a browser notification where allowed), and
``static/js/proposals.js`` fetches the banner again (``triggers:banner``) so that it shows
the proposal, with its evidence and its buttons, without a reload.
"""

from __future__ import annotations

from django.urls import reverse

from common.capabilities import COMMANDERS
from common.notify import notify_group
from triggers.models import Proposal

KIND = "proposal"


def announce_proposal(proposal_id: int) -> None:
    proposal = Proposal.objects.select_related("runbook").filter(pk=proposal_id).first()
    if proposal is None:
        return
    names = sorted({a.alertname for a in proposal.alerts.all()})
    target = f"{proposal.runbook.title} in {proposal.environment}"
    if proposal.status == Proposal.Status.OPEN:
        title, body = f"Rollback proposed: {target}", "Fired: " + ", ".join(names[:5])
        url = reverse("triggers:receivers")
    elif proposal.status == Proposal.Status.ACCEPTED and proposal.incident_id:
        title, body = f"Rollback opened: {target}", "The incident records the alerts."
        url = reverse("incidents:detail", args=[proposal.incident_id])
    else:
        title, body = f"Proposed rollback declined: {target}", proposal.decline_reason[:200]
        url = reverse("triggers:receivers")
    notify_group(
        COMMANDERS,
        KIND,
        {
            "title": title,
            "body": body,
            "url": url,
            "tag": f"proposal-{proposal.pk}",
            "proposal": proposal.pk,
            "status": proposal.status,
        },
    )
