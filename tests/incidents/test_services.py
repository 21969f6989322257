from __future__ import annotations

import pytest

from incidents import services
from incidents.models import Incident, IncidentRole, RoleAssignment, Step, TimelineEntry
from runbooks.specs import INCIDENT_COMMANDER
from tests.factories import make_user

pytestmark = pytest.mark.django_db


def kinds(incident):
    return list(incident.timeline.order_by("pk").values_list("kind", flat=True))


def test_open_incident_copies_plan_and_makes_opener_commander(incident, ic):
    assert [p.key for p in incident.phases.all()] == ["preserve", "validate"]
    assert list(incident.steps.values_list("key", flat=True)) == [
        "disable-v1",
        "stop-writes",
        "restore",
        "smoke",
    ]
    restore = incident.steps.get(key="restore")
    assert (restore.kind, restore.requires, restore.approval_role) == (
        "shell",
        ["stop-writes"],
        INCIDENT_COMMANDER,
    )
    assert set(incident.roles.values_list("key", flat=True)) == {
        INCIDENT_COMMANDER,
        "backend_engineer",
        "system_administrator",
    }
    commander = RoleAssignment.objects.get(incident=incident, role__key=INCIDENT_COMMANDER)
    assert commander.user == ic
    assert kinds(incident)[0] == TimelineEntry.Kind.OPENED


def test_open_incident_refuses_unknown_environment_and_saves_nothing(version, ic):
    with pytest.raises(services.ServiceError, match="no environment"):
        services.open_incident(
            version=version,
            environment="mars",
            title="x",
            severity="sev1",
            is_drill=False,
            opened_by=ic,
        )
    assert Incident.objects.count() == 0


def test_open_incident_refuses_non_commanders(version, backend):
    with pytest.raises(services.ServiceError):
        services.open_incident(
            version=version,
            environment="staging",
            title="x",
            severity="sev1",
            is_drill=False,
            opened_by=backend,
        )


def test_assign_role_is_idempotent(incident, ic, backend):
    before = incident.timeline.count()
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    assert RoleAssignment.objects.filter(incident=incident, user=backend).count() == 1
    assert incident.timeline.count() == before


def test_assign_commander_hands_over(incident, ic):
    successor = make_user("ic2", "commanders")
    services.assign_role(
        incident_id=incident.pk, role_key=INCIDENT_COMMANDER, user_id=successor.pk, by=ic
    )
    holders = RoleAssignment.objects.filter(incident=incident, role__key=INCIDENT_COMMANDER)
    assert [a.user for a in holders] == [successor]
    assert "handed over from ic to ic2" in incident.timeline.first().text


def test_responder_cannot_become_commander(incident, ic, backend):
    with pytest.raises(services.ServiceError, match="may not hold"):
        services.assign_role(
            incident_id=incident.pk, role_key=INCIDENT_COMMANDER, user_id=backend.pk, by=ic
        )


def test_viewer_cannot_be_assigned(incident, ic, viewer):
    with pytest.raises(services.ServiceError, match="may not hold"):
        services.assign_role(
            incident_id=incident.pk, role_key="backend_engineer", user_id=viewer.pk, by=ic
        )


def test_unassign_commander_is_refused(incident, ic):
    a = RoleAssignment.objects.get(incident=incident, role__key=INCIDENT_COMMANDER)
    with pytest.raises(services.ServiceError, match="Hand the commander role"):
        services.unassign_role(incident_id=incident.pk, assignment_id=a.pk, by=ic)


def test_unassign_records_on_timeline(incident, ic, backend):
    a = RoleAssignment.objects.get(incident=incident, user=backend)
    services.unassign_role(incident_id=incident.pk, assignment_id=a.pk, by=ic)
    assert not RoleAssignment.objects.filter(pk=a.pk).exists()
    assert incident.timeline.first().kind == TimelineEntry.Kind.ROLE_UNASSIGNED


def test_complete_step_records_who_and_when(incident, step, backend):
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    s = step("disable-v1")
    assert (s.state, s.state_changed_by) == (Step.State.DONE, backend)
    entry = incident.timeline.first()
    assert (entry.kind, entry.actor, entry.step_id) == (TimelineEntry.Kind.STEP_DONE, backend, s.pk)


def test_complete_step_twice_is_a_conflict_recorded_once(incident, step, backend, ic):
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    with pytest.raises(services.ServiceError, match="Already done by backend") as err:
        services.complete_step(step_id=step("disable-v1").pk, by=ic)
    assert err.value.conflict
    assert incident.timeline.filter(kind=TimelineEntry.Kind.STEP_DONE).count() == 1


def test_complete_step_waits_for_required_steps(incident, step, sysadmin):
    with pytest.raises(services.ServiceError, match="First finish or skip: Disable new endpoints"):
        services.complete_step(step_id=step("stop-writes").pk, by=sysadmin)


def test_skipped_requirement_counts_as_settled(incident, step, backend, sysadmin):
    services.skip_step(step_id=step("disable-v1").pk, by=backend, reason="v1 never went live")
    services.complete_step(step_id=step("stop-writes").pk, by=sysadmin)
    assert step("stop-writes").state == Step.State.DONE


def test_scripted_step_cannot_be_ticked(incident, step, ic):
    with pytest.raises(services.ServiceError, match="completes by running"):
        services.complete_step(step_id=step("restore").pk, by=ic)


@pytest.mark.parametrize("reason", ["", "   "])
def test_skip_needs_a_reason(incident, step, backend, reason):
    with pytest.raises(services.ServiceError, match="Say why"):
        services.skip_step(step_id=step("disable-v1").pk, by=backend, reason=reason)
    assert step("disable-v1").state == Step.State.PENDING


def test_reopen_refused_while_a_dependent_is_settled(incident, step, backend, sysadmin):
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    services.complete_step(step_id=step("stop-writes").pk, by=sysadmin)
    with pytest.raises(services.ServiceError, match="Stop all write operations"):
        services.reopen_step(step_id=step("disable-v1").pk, by=backend)
    services.reopen_step(step_id=step("stop-writes").pk, by=sysadmin)
    services.reopen_step(step_id=step("disable-v1").pk, by=backend)
    assert step("disable-v1").state == Step.State.PENDING
    assert incident.timeline.first().kind == TimelineEntry.Kind.STEP_REOPENED


def test_every_write_bumps_the_revision(incident, step, backend):
    before = Incident.objects.get(pk=incident.pk).revision
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    services.add_note(incident_id=incident.pk, author=backend, text="v1 returns 503 now")
    assert Incident.objects.get(pk=incident.pk).revision == before + 2


def test_note_must_have_text(incident, backend):
    with pytest.raises(services.ServiceError):
        services.add_note(incident_id=incident.pk, author=backend, text="  ")


def test_resolved_incident_refuses_writes(incident, step, backend):
    Incident.objects.filter(pk=incident.pk).update(status=Incident.Status.RESOLVED)
    with pytest.raises(services.ServiceError, match="resolved"):
        services.complete_step(step_id=step("disable-v1").pk, by=backend)


def test_roles_keep_runbook_order(incident):
    keys = list(IncidentRole.objects.filter(incident=incident).values_list("key", flat=True))
    assert keys == [INCIDENT_COMMANDER, "backend_engineer", "system_administrator"]
