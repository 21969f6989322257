from __future__ import annotations

from html.parser import HTMLParser

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from incidents import services
from incidents.models import Incident, Step
from tests.factories import make_version, spec_with_steps

pytestmark = pytest.mark.django_db


def detail(incident):
    return reverse("incidents:detail", args=[incident.pk])


def post_step(client, incident, step, action, **data):
    url = reverse(f"incidents:step_{action}", args=[incident.pk, step.pk])
    return client.post(url, data, HTTP_HX_REQUEST="true")


def test_list_shows_active_incidents_first(client, ic, incident, version):
    old = services.open_incident(
        version=version,
        environment="staging",
        title="Older and closed",
        severity="sev3",
        is_drill=False,
        opened_by=ic,
    )
    Incident.objects.filter(pk=old.pk).update(status=Incident.Status.RESOLVED)
    newer = services.open_incident(
        version=version,
        environment="staging",
        title="Newest",
        severity="sev2",
        is_drill=False,
        opened_by=ic,
    )
    Incident.objects.filter(pk=newer.pk).update(status=Incident.Status.RESOLVED)
    client.force_login(ic)
    html = client.get(reverse("incidents:list")).content.decode()
    assert html.index(incident.title) < html.index("Newest") < html.index("Older and closed")


def test_open_incident_form_creates_incident_and_redirects(client, ic, version):
    client.force_login(ic)
    form_page = client.get(reverse("incidents:open"))
    assert b"Staging" in form_page.content
    response = client.post(
        reverse("incidents:open"),
        {
            "version": version.pk,
            "environment": "staging",
            "title": "Migration broke tasks",
            "severity": "sev1",
            "is_drill": "on",
        },
    )
    incident = Incident.objects.get()
    assert response.status_code == 302 and response.url == detail(incident)
    assert incident.is_drill and incident.steps.count() == 4


def test_open_incident_form_rejects_environment_of_another_runbook(client, ic, version):
    client.force_login(ic)
    response = client.post(
        reverse("incidents:open"),
        {
            "version": version.pk,
            "environment": "mars",
            "title": "x",
            "severity": "sev1",
        },
    )
    assert response.status_code == 200 and b"Select a valid choice" in response.content
    assert Incident.objects.count() == 0


def test_environment_select_follows_runbook(client, ic, version):
    client.force_login(ic)
    html = client.get(reverse("incidents:environments"), {"version": version.pk}).content.decode()
    assert 'value="staging"' in html and 'value="production"' in html


def test_viewer_page_has_no_controls(client, viewer, incident):
    client.force_login(viewer)
    html = client.get(detail(incident)).content.decode()
    assert "Disable new endpoints" in html and "Read-only view" in html
    assert "hx-post" not in html and "me-style" not in html and "pg_restore" not in html


def test_responder_page_has_controls_and_own_style(client, backend, incident):
    client.force_login(backend)
    html = client.get(detail(incident)).content.decode()
    assert "hx-post" in html
    assert (
        "body .ctl.for-backend_engineer{display:var(--ctl-display,inline-flex)!important}" in html
    )
    assert ".ctl.ctl{display" not in html


def test_commander_style_shows_every_control(client, ic, incident):
    client.force_login(ic)
    html = client.get(reverse("incidents:me", args=[incident.pk])).content.decode()
    assert "body .ctl.ctl{display:var(--ctl-display,inline-flex)!important}" in html


def test_owner_ticks_step_and_gets_fragment(client, backend, incident, step):
    client.force_login(backend)
    response = post_step(client, incident, step("disable-v1"), "complete")
    assert response.status_code == 200
    assert 'data-state="done"' in response.content.decode()
    assert step("disable-v1").state == Step.State.DONE


def test_conflict_comes_back_in_fragment(client, backend, ic, incident, step):
    services.complete_step(step_id=step("disable-v1").pk, by=ic)
    client.force_login(backend)
    html = post_step(client, incident, step("disable-v1"), "complete").content.decode()
    assert "Already done by ic" in html and 'data-state="done"' in html


@pytest.mark.parametrize("who", ["other_responder", "viewer", "sysadmin"])
def test_non_owner_tick_is_refused(client, request, incident, step, who):
    client.force_login(request.getfixturevalue(who))
    assert post_step(client, incident, step("disable-v1"), "complete").status_code == 403
    assert step("disable-v1").state == Step.State.PENDING


def test_step_of_another_incident_is_404(client, ic, incident, version):
    other = services.open_incident(
        version=version,
        environment="staging",
        title="other",
        severity="sev3",
        is_drill=False,
        opened_by=ic,
    )
    client.force_login(ic)
    foreign = other.steps.get(key="disable-v1")
    assert post_step(client, incident, foreign, "complete").status_code == 404


def test_outsider_gets_404_and_anonymous_goes_to_login(client, outsider, incident):
    assert client.get(detail(incident)).status_code == 302
    client.force_login(outsider)
    assert client.get(detail(incident)).status_code == 404


def test_skip_without_reason_is_shown_as_error(client, backend, incident, step):
    client.force_login(backend)
    html = post_step(client, incident, step("disable-v1"), "skip", reason="").content.decode()
    assert "Say why" in html
    assert step("disable-v1").state == Step.State.PENDING


def test_note_returns_cleared_form_and_entry(client, backend, incident):
    client.force_login(backend)
    html = client.post(
        reverse("incidents:note_add", args=[incident.pk]), {"text": "Backups verified"}
    ).content.decode()
    assert f'id="note-form-{incident.pk}"' in html
    assert f'data-into="timeline-{incident.pk}"' in html and "Backups verified" in html


def test_viewer_cannot_add_note(client, viewer, incident):
    client.force_login(viewer)
    response = client.post(reverse("incidents:note_add", args=[incident.pk]), {"text": "hi"})
    assert response.status_code == 403


def test_assign_role_by_commander_only(client, ic, backend, other_responder, incident):
    url = reverse("incidents:role_assign", args=[incident.pk])
    data = {"role": "backend_engineer", "user": other_responder.pk}
    client.force_login(backend)
    assert client.post(url, data).status_code == 403
    client.force_login(ic)
    html = client.post(url, data).content.decode()
    assert "bystander" in html
    assert incident.assignments.filter(user=other_responder).exists()


def test_forged_role_key_is_an_error_not_a_crash(client, ic, other_responder, incident):
    client.force_login(ic)
    url = reverse("incidents:role_assign", args=[incident.pk])
    html = client.post(url, {"role": "root", "user": other_responder.pk}).content.decode()
    assert "has no role" in html


class _TopLevelIds(HTMLParser):
    """Ids of the top-level elements of a fragment: what static/js/live.js applies."""

    VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.ids: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth == 0:
            self.ids.append(dict(attrs).get("id") or f"<{tag} without id>")
        if tag not in self.VOID:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag not in self.VOID:
            self.depth -= 1


def test_live_endpoint_returns_every_panel(client, viewer, incident):
    client.force_login(viewer)
    html = client.get(reverse("incidents:live", args=[incident.pk])).content.decode()
    parser = _TopLevelIds()
    parser.feed(html)
    # Top level, not nested in a wrapper without id: live.js ignores anything else,
    # and a reconnecting page would never catch up on that panel.
    assert sorted(parser.ids) == sorted(
        [
            f"incident-head-{incident.pk}",
            f"roles-{incident.pk}",
            f"timeline-{incident.pk}",
            f"criteria-{incident.pk}",
            f"safeguards-{incident.pk}",
            f"validation-{incident.pk}",
            f"gantt-{incident.pk}",
            *(f"phase-{p.pk}" for p in incident.phases.all()),
        ]
    )


def _page_queries(client, user, n_steps: int, n_notes: int) -> int:
    version = make_version(spec_with_steps(n_steps))
    incident = services.open_incident(
        version=version,
        environment="staging",
        title=f"size {n_steps}",
        severity="sev2",
        is_drill=False,
        opened_by=user,
    )
    for i in range(n_notes):
        services.add_note(incident_id=incident.pk, author=user, text=f"note {i}")
    with CaptureQueriesContext(connection) as queries:
        assert client.get(detail(incident)).status_code == 200
    return len(queries)


def test_page_query_count_does_not_grow_with_steps_or_timeline(client, ic):
    client.force_login(ic)
    small = _page_queries(client, ic, n_steps=3, n_notes=2)
    large = _page_queries(client, ic, n_steps=60, n_notes=120)
    assert small == large, f"{small} queries for a small incident, {large} for a large one"
