"""Follow-ups that get done: proposed from the record, accepted or dismissed by the IC,
edited on the incident, listed (mine, overdue, by runbook), in the API, the postmortem
and a CSV export with one row per follow-up."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from incidents import services
from incidents.models import FollowUp, TimelineEntry
from incidents.services import runs
from incidents.services.follow_ups import triage_follow_up, update_follow_up
from postmortem.data import postmortem_data
from postmortem.markdown import render_markdown
from tests.drills.gated import gated_spec
from tests.factories import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def resolved(ic, backend, sysadmin):
    """A drill with a skip, a safeguard override, an overrun and a resolve over a criterion."""
    spec = gated_spec()
    spec["success_criteria"] = [
        {"id": "login", "title": "Users log in", "signoff": "backend_engineer"}
    ]
    spec["post_actions"] = [
        {"id": "rca", "title": "Root cause analysis", "owner": "incident_commander"},
        {"id": "docs", "title": "Update the docs", "owner": "backend_engineer", "due_days": 14},
    ]
    incident = services.open_incident(
        version=make_version(spec), environment="staging", title="Drill", severity="sev2",
        is_drill=True, opened_by=ic,
    )  # fmt: skip
    for role, user in (("backend_engineer", backend), ("system_administrator", sysadmin)):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=user.pk, by=ic)
    services.complete_step(step_id=incident.steps.get(key="disable-v1").pk, by=backend)
    services.skip_step(
        step_id=incident.steps.get(key="stop-writes").pk, by=sysadmin, reason="LB drains writes"
    )
    restore = incident.steps.get(key="restore")
    runs.request_run(step_id=restore.pk, by=ic, override_reason="backup checked by hand")
    incident.phases.filter(position=0).update(planned_end_at=timezone.now() - timedelta(minutes=20))
    services.resolve_incident(incident_id=incident.pk, by=ic, override_reason="drill ends here")
    incident.refresh_from_db()
    return incident


def test_resolve_proposes_follow_ups_from_the_record(resolved):
    proposed = {
        f.key: f
        for f in FollowUp.objects.filter(incident=resolved, proposal=FollowUp.Proposal.PROPOSED)
    }
    assert set(proposed) == {
        "skip-stop-writes",
        "override-restore",
        "overrun-preserve",
        "resolve-override",
    }
    assert proposed["skip-stop-writes"].origin == "Step skipped: LB drains writes"
    assert proposed["skip-stop-writes"].owner_role == "system_administrator"
    assert proposed["override-restore"].origin == "Override: backup checked by hand"
    assert proposed["overrun-preserve"].origin.startswith("Phase overran by 2")
    assert "drill ends here" in proposed["resolve-override"].origin


def test_due_dates_are_set_at_resolve_from_the_runbook(resolved):
    resolved_on = timezone.localdate(resolved.resolved_at)
    due = dict(FollowUp.objects.filter(incident=resolved).values_list("key", "due_on"))
    assert due["rca"] == resolved_on + timedelta(days=7)
    assert due["docs"] == resolved_on + timedelta(days=14)


def test_accepted_follow_ups_reach_the_assignee_and_the_postmortem(client, resolved, ic, sysadmin):
    skip = FollowUp.objects.get(incident=resolved, key="skip-stop-writes")
    triage_follow_up(follow_up_id=skip.pk, by=ic, accept=True, assignee_id=sysadmin.pk)
    overrun = FollowUp.objects.get(incident=resolved, key="overrun-preserve")
    triage_follow_up(follow_up_id=overrun.pk, by=ic, accept=False)
    # The assignee moves it on, after the incident resolved.
    update_follow_up(follow_up_id=skip.pk, by=sysadmin, status="in_progress", notes="on it")

    client.force_login(sysadmin)
    html = client.get(reverse("incidents:follow_ups") + "?mine=1").content.decode()
    assert "Follow up on the skipped step: Stop all write operations" in html
    assert "In progress" in html and "Review why" not in html

    markdown = render_markdown(postmortem_data(resolved)).split("## Follow-up actions")[1]
    due = timezone.localdate(resolved.resolved_at) + timedelta(days=7)
    row = next(line for line in markdown.splitlines() if "| Follow up on the skipped step" in line)
    assert "sysadmin" in row and due.isoformat() in row and "In progress" in row
    assert "Review why" not in markdown  # dismissed
    assert "Close the success criteria" not in markdown  # still only proposed
    kinds = TimelineEntry.objects.filter(incident=resolved, kind=TimelineEntry.Kind.FOLLOW_UP)
    assert kinds.count() == 3


def test_only_the_ic_triages_and_only_ic_assignee_or_owner_role_edit(
    resolved, backend, sysadmin, viewer
):
    skip = FollowUp.objects.get(incident=resolved, key="skip-stop-writes")
    with pytest.raises(services.ServiceError, match="Only the incident commander accepts"):
        triage_follow_up(follow_up_id=skip.pk, by=sysadmin, accept=True)
    rca = FollowUp.objects.get(incident=resolved, key="rca")
    for who in (backend, viewer):
        with pytest.raises(
            services.ServiceError, match="Only the incident commander, the assignee"
        ):
            update_follow_up(follow_up_id=rca.pk, by=who, status="done")
    docs = FollowUp.objects.get(incident=resolved, key="docs")
    update_follow_up(follow_up_id=docs.pk, by=backend, status="done")  # holds backend_engineer
    assert FollowUp.objects.get(pk=docs.pk).status == "done"


def test_follow_ups_page_filters_overdue_and_reminds_the_assignee(client, resolved, ic, backend):
    docs = FollowUp.objects.get(incident=resolved, key="docs")
    update_follow_up(
        follow_up_id=docs.pk, by=ic, assignee_id=backend.pk,
        due_on=timezone.localdate() - timedelta(days=1),
    )  # fmt: skip
    client.force_login(backend)
    html = client.get(reverse("incidents:follow_ups") + "?overdue=1").content.decode()
    assert "You have 1 overdue follow-up." in html
    assert html.count('data-testid="follow-up-row"') == 1 and "Update the docs" in html
    other = client.get(reverse("incidents:follow_ups") + "?runbook=nope").content.decode()
    assert 'data-testid="follow-up-row"' not in other


def test_csv_export_has_one_row_per_follow_up(client, resolved, ic, sysadmin):
    skip = FollowUp.objects.get(incident=resolved, key="skip-stop-writes")
    triage_follow_up(follow_up_id=skip.pk, by=ic, accept=True, assignee_id=sysadmin.pk)
    update_follow_up(follow_up_id=skip.pk, by=ic, notes='=HYPERLINK("http://evil")\nsecond line')
    client.force_login(ic)
    response = client.get(reverse("incidents:follow_ups_csv"))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    work = FollowUp.objects.filter(incident=resolved, proposal__in=FollowUp.WORK)
    assert len(rows) == work.count() == 3
    row = next(r for r in rows if r["follow-up"] == "skip-stop-writes")
    assert (row["assignee"], row["status"], row["runbook"]) == ("sysadmin", "Open", "gated")
    assert row["notes"] == '\'=HYPERLINK("http://evil")\nsecond line'  # text, not a formula


def test_panel_on_the_incident_page_shows_proposals_and_triages(client, resolved, ic):
    client.force_login(ic)
    html = client.get(reverse("incidents:detail", args=[resolved.pk])).content.decode()
    assert f'id="follow-ups-{resolved.pk}"' in html
    assert 'data-testid="follow-up-override-restore"' in html and "proposed" in html
    skip = FollowUp.objects.get(incident=resolved, key="skip-stop-writes")
    url = reverse("incidents:follow_up_accept", args=[resolved.pk, skip.pk])
    html = client.post(url, {"assignee": ""}).content.decode()
    assert FollowUp.objects.get(pk=skip.pk).proposal == "accepted"
    again = client.post(url).content.decode()
    assert "already accepted" in again
    edit = reverse("incidents:follow_up_update", args=[resolved.pk, skip.pk])
    bad = client.post(edit, {"status": "open", "link": "javascript:alert(1)"}).content.decode()
    assert "Not saved: link" in bad
    client.post(edit, {"status": "done", "link": "https://tracker.example/T-1", "notes": "x"})
    assert FollowUp.objects.get(pk=skip.pk).link == "https://tracker.example/T-1"


def test_api_lists_edits_and_triages(api_as, resolved, ic, sysadmin):
    api = api_as(ic)
    mine = api_as(sysadmin).get("/follow-ups", mine="true").json()
    assert mine == []
    listed = api.get(f"/incidents/{resolved.pk}/follow-ups").json()
    by_key = {f["key"]: f for f in listed}
    assert by_key["override-restore"]["proposal"] == "proposed"
    fid = by_key["override-restore"]["id"]
    accepted = api.post(
        f"/incidents/{resolved.pk}/follow-ups/{fid}/accept", {"assignee_id": sysadmin.pk}
    )
    assert accepted.status_code == 200 and accepted.json()["assignee"] == "sysadmin"
    changed = api_as(sysadmin).post(
        f"/incidents/{resolved.pk}/follow-ups/{fid}",
        {"status": "done", "link": "https://x.example/1"},
    )
    assert changed.status_code == 200 and changed.json()["status"] == "done"
    assert [f["key"] for f in api_as(sysadmin).get("/follow-ups", mine="true").json()] == [
        "override-restore"
    ]
    bad = api.post(f"/incidents/{resolved.pk}/follow-ups/{fid}", {"status": "finished"})
    assert bad.status_code == 422
    dismissed_twice = api.post(f"/incidents/{resolved.pk}/follow-ups/{fid}/dismiss")
    assert dismissed_twice.status_code == 409
