"""One context per fragment: the page, its live resync, the htmx answers and the push agree.

incidents.panels builds every fragment's context; these tests hold the four places
that render fragments to it. A pushed fragment must be byte for byte the one a
reloading page shows, or the browser would flip between two versions of a panel.
"""

from __future__ import annotations

import re
from datetime import datetime

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from incidents import access, broadcast, panels, services
from incidents.access import Audience
from incidents.events import Change
from incidents.models import Criterion, Incident, Step
from incidents.services import runs

pytestmark = pytest.mark.django_db

ROOT = re.compile(r'\s*<(\w+) id="([^"]+)"')


def everything(incident: Incident) -> Change:
    """A change touching every fragment the push can send (but the timeline)."""
    return Change(
        incident.pk,
        steps=set(incident.steps.values_list("pk", flat=True)),
        phases=set(incident.phases.values_list("pk", flat=True)),
        criteria=True,
        safeguards=True,
        roles=True,
        header=True,
    )


def element(html: str, element_id: str) -> str:
    """The element with ``element_id`` in ``html``, through its matching end tag."""
    start = re.search(rf'<(\w+) id="{re.escape(element_id)}"', html)
    assert start, f"no #{element_id} in the page"
    tag, depth, at = start.group(1), 0, start.start()
    for match in re.compile(rf"<(/?){tag}[\s>]").finditer(html, at):
        depth += -1 if match.group(1) else 1
        if depth == 0:
            return html[at : html.index(">", match.end() - 1) + 1]
    raise AssertionError(f"#{element_id} is not closed")


@pytest.fixture(params=["small", "mig002"])
def scene(request, ic, backend, sysadmin, viewer, django_capture_on_commit_callbacks):
    """An incident in mid-flight: steps done and skipped and a run awaiting approval (the
    small runbook), or a role handed out and a criterion signed off (MIG-002)."""
    with django_capture_on_commit_callbacks(execute=False):
        if request.param == "small":
            incident: Incident = request.getfixturevalue("incident")
            services.complete_step(step_id=incident.steps.get(key="disable-v1").pk, by=backend)
            services.skip_step(step_id=incident.steps.get(key="stop-writes").pk, by=ic, reason="r")
            runs.request_run(step_id=incident.steps.get(key="restore").pk, by=sysadmin)
        else:
            incident = request.getfixturevalue("mig002")
            services.assign_role(
                incident_id=incident.pk, role_key="product_manager", user_id=viewer.pk, by=ic
            )
            criterion = Criterion.objects.get(incident=incident, key="users_can_access_accounts")
            services.sign_off(criterion_id=criterion.pk, by=viewer)
    incident.refresh_from_db()
    return incident


def audiences(ic, viewer) -> list[tuple[object, Audience]]:
    return [(ic, "act"), (viewer, "view")]


def page(incident: Incident, user, now: datetime) -> panels.Context:
    return panels.page_context(incident, access.access_for(user, incident), now)


def test_a_pushed_fragment_reads_what_the_page_gives_it(scene, ic, viewer):
    now = timezone.now()
    pushed = broadcast.fragments(everything(scene), now)
    for user, audience in audiences(ic, viewer):
        whole = page(scene, user, now)
        assert whole["audience"] == audience
        for template, context in pushed[audience]:
            shared = context.keys() & whole.keys()
            assert {"incident", "audience", "rev", "now"} <= shared
            # A push carries the titles of the steps its steps require, not all of them.
            titles = context.get("step_titles", {})
            page_titles, step = whole["step_titles"], context.get("step")
            assert isinstance(titles, dict) and isinstance(page_titles, dict)
            assert titles.items() <= page_titles.items(), template
            if isinstance(step, Step):
                assert set(step.requires) <= titles.keys(), template
            shared -= {"step_titles"}
            assert {k: context[k] for k in shared} == {k: whole[k] for k in shared}, template


def test_every_pushed_fragment_is_the_one_in_the_live_view(scene, ic, viewer):
    now = timezone.now()
    pushed = broadcast.fragments(everything(scene), now)
    for user, audience in audiences(ic, viewer):
        resync = render_to_string("incidents/live.html", page(scene, user, now))
        ids = []
        for template, context in pushed[audience]:
            html = render_to_string(template, context)
            root = ROOT.match(html)
            assert root, template
            ids.append(root.group(2))
            assert html.strip() == element(resync, root.group(2)), template
        steps = [i for i in ids if i.startswith("step-")]
        assert len(steps) == scene.steps.count()
        assert f"criteria-{scene.pk}" in ids and f"roles-{scene.pk}" in ids


def test_the_page_is_the_union_of_its_fragments(scene, ic):
    now = timezone.now()
    acc = access.access_for(ic, scene)
    whole = panels.page_context(scene, acc, now)
    parts = [
        panels.fragment_context(scene, "act", now),
        panels.criteria_context(scene),
        panels.validation_context(scene),
        panels.safeguards_context(scene),
    ]
    for part in parts:
        assert {k: whole[k] for k in part} == part


def test_a_pushed_timeline_entry_goes_into_the_pages_list(scene, ic):
    entry = scene.timeline.order_by("-pk").first()
    assert entry is not None
    now = timezone.now()
    change = Change(scene.pk, timeline={entry.pk})
    [(template, context)] = broadcast.fragments(change, now)["act"]
    html = render_to_string(template, context)
    assert f'id="tl-{entry.pk}"' in html and f'data-into="timeline-{scene.pk}"' in html
    resync = render_to_string("incidents/live.html", page(scene, ic, now))
    assert html.replace(f' data-into="timeline-{scene.pk}"', "").strip() == element(
        resync, f"tl-{entry.pk}"
    )


def pushed_to_act(change: Change, element_id: str) -> str:
    for template, context in broadcast.fragments(change, timezone.now())["act"]:
        html = render_to_string(template, context)
        root = ROOT.match(html)
        if root and root.group(2) == element_id:
            return html.strip()
    raise AssertionError(f"#{element_id} was not pushed")


def test_htmx_answers_are_the_pushed_fragments(client, incident, ic, backend):
    """What the actor gets back is what every other "act" socket receives."""
    step = incident.steps.get(key="disable-v1")
    client.force_login(backend)
    answer = client.post(f"/incidents/{incident.pk}/steps/{step.pk}/complete/")
    assert answer.content.decode().strip() == pushed_to_act(
        Change(incident.pk, steps={step.pk}), f"step-{step.pk}"
    )

    client.force_login(ic)
    answer = client.post(
        f"/incidents/{incident.pk}/roles/assign/", {"role": "backend_engineer", "user": ic.pk}
    )
    assert answer.content.decode().strip() == pushed_to_act(
        Change(incident.pk, roles=True), f"roles-{incident.pk}"
    )

    answer = client.post(f"/incidents/{incident.pk}/resolve/", {"reason": "by hand"})
    assert Incident.objects.get(pk=incident.pk).status == "resolved"
    assert answer.content.decode().strip() == pushed_to_act(
        Change(incident.pk, criteria=True), f"criteria-{incident.pk}"
    )


def test_log_tail_is_rendered_and_pushed_to_those_who_act_only(incident, sent):
    broadcast.push_tail(incident.pk, 7, "one\ntwo", 2)
    [(group, message)] = sent
    assert group == f"incident.{incident.pk}.act"
    assert message["html"].startswith('<pre id="run-tail-7" class="run-tail" data-rev="2"')
    assert "one\ntwo</pre>" in message["html"]


def test_what_is_rendered_once_for_everyone_reads_nothing_of_its_audience(scene, monkeypatch):
    """broadcast.SAME_FOR_EVERYONE: the act and view copies of those fragments are the
    same bytes, on a scene with every panel in play and its timeline; what render_change
    sends each audience is still that audience's own whole (a step's controls differ)."""
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)
    change = everything(scene)
    change.timeline = set(scene.timeline.values_list("pk", flat=True))
    pushed = broadcast.fragments(change, now)
    act, view = pushed["act"], pushed["view"]
    assert [t for t, _ in act] == [t for t, _ in view]
    shared = [
        (template, a, v)
        for (template, a), (_, v) in zip(act, view, strict=True)
        if template in broadcast.SAME_FOR_EVERYONE
    ]
    assert {t for t, _, _ in shared} == broadcast.SAME_FOR_EVERYONE
    for template, a, v in shared:
        assert render_to_string(template, a) == render_to_string(template, v), template
    rendered = broadcast.render_change(change)
    assert rendered["act"] != rendered["view"]
    for audience, parts in pushed.items():
        assert rendered[audience] == "".join(render_to_string(t, c) for t, c in parts), audience
