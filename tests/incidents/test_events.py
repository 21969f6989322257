from __future__ import annotations

from unittest import mock

import pytest
from django.db import transaction

from incidents import events, services
from incidents.models import Step
from tests.factories import make_version, spec_with_steps

pytestmark = pytest.mark.django_db


def test_nothing_is_pushed_before_commit(
    incident, step, backend, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.complete_step(step_id=step("disable-v1").pk, by=backend)
    assert sent == []
    # The page's push, and the notice to the owner of the step this one unblocks.
    assert len(callbacks) == 2


def test_rolled_back_write_pushes_nothing(
    incident, step, backend, sent, django_capture_on_commit_callbacks
):
    def tick_then_fail():
        with transaction.atomic():
            services.complete_step(step_id=step("disable-v1").pk, by=backend)
            raise RuntimeError("boom")

    with django_capture_on_commit_callbacks(execute=True), pytest.raises(RuntimeError):
        tick_then_fail()
    assert sent == []
    assert step("disable-v1").state == Step.State.PENDING


def test_tick_pushes_one_render_per_audience(
    incident, step, backend, sent, django_capture_on_commit_callbacks
):
    target = step("disable-v1")
    with django_capture_on_commit_callbacks(execute=True):
        services.complete_step(step_id=target.pk, by=backend)
    groups = [group for group, _ in sent]
    assert groups == [f"incident.{incident.pk}.act", f"incident.{incident.pk}.view"]
    by_group = {group: message["html"] for group, message in sent}
    act, view = by_group[groups[0]], by_group[groups[1]]
    for html in (act, view):
        assert f'id="step-{target.pk}"' in html
        assert 'data-state="done"' in html
        assert f'id="phase-progress-{target.phase_id}"' in html
        assert "Done: Disable new endpoints" in html  # the timeline entry
        assert f'data-rev="{incident.revision + 1}"' in html
    assert "hx-post" in act and 'class="ctl' in act
    assert "hx-post" not in view and "ctl" not in view


def test_viewer_fragment_hides_command_details(
    incident, step, ic, sent, django_capture_on_commit_callbacks
):
    restore = step("restore")
    with django_capture_on_commit_callbacks(execute=True):
        services.skip_step(step_id=restore.pk, by=ic, reason="restored by hand")
    view = next(m["html"] for g, m in sent if g.endswith(".view"))
    act = next(m["html"] for g, m in sent if g.endswith(".act"))
    assert "pg_restore" in act
    assert "pg_restore" not in view


def test_role_change_pushes_roles_panel(
    incident, ic, other_responder, sent, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.assign_role(
            incident_id=incident.pk, role_key="backend_engineer", user_id=other_responder.pk, by=ic
        )
    for _, message in sent:
        assert f'id="roles-{incident.pk}"' in message["html"]
        assert "bystander" in message["html"]


def test_group_names_are_valid_channel_names(incident):
    for audience in events.AUDIENCES:
        name = events.incident_group(incident.pk, audience)
        assert len(name) < 100 and all(c.isalnum() or c in "._-" for c in name)


def test_step_push_loads_only_the_changed_step(ic, sent, django_capture_on_commit_callbacks):
    """The progress bar is counted in SQL: a push costs the same in a 3- or 300-step phase."""
    version = make_version(spec_with_steps(60))
    incident = services.open_incident(
        version=version,
        environment="staging",
        title="big phase",
        severity="sev2",
        is_drill=False,
        opened_by=ic,
    )
    first, second = incident.steps.order_by("position")[:2]
    services.complete_step(step_id=first.pk, by=ic)
    loaded: list[int] = []
    real_from_db = Step.from_db.__func__  # type: ignore[attr-defined]

    def counting_from_db(cls, db, field_names, values):
        loaded.append(1)
        return real_from_db(cls, db, field_names, values)

    with (
        mock.patch.object(Step, "from_db", classmethod(counting_from_db)),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.complete_step(step_id=second.pk, by=ic)
    pushed = [m["html"] for g, m in sent if g.endswith(".view")][-1]
    assert f'id="phase-progress-{second.phase_id}"' in pushed
    assert "2 / 60" in pushed
    # The service reads the step twice (lock, then its state); the push once more.
    assert len(loaded) <= 4, f"{len(loaded)} Step rows loaded for one tick"
