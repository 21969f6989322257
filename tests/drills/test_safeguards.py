"""Safeguards that gate: a confirm control for manual ones, a step that waits for its
safeguards, the IC's override with a reason, and pre-flight again right before the step."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from incidents import gates, services
from incidents.models import SafeguardCheck, SafeguardConfirmation, StepRun, TimelineEntry
from incidents.redaction import Redactor
from incidents.services import runs
from incidents.services.preflight import preflight_before_step
from incidents.services.safeguards import confirm_safeguard
from postmortem.data import postmortem_data
from postmortem.markdown import render_markdown
from runbooks.executors.base import ExecutorError
from runbooks.selectors import latest_version
from tests.drills.gated import gated_spec
from tests.factories import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def gated(ic, backend, sysadmin):
    incident = services.open_incident(
        version=make_version(gated_spec()),
        environment="staging",
        title="Gated",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    for role, user in (("backend_engineer", backend), ("system_administrator", sysadmin)):
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=user.pk, by=ic)
    services.complete_step(step_id=incident.steps.get(key="disable-v1").pk, by=backend)
    services.complete_step(step_id=incident.steps.get(key="stop-writes").pk, by=sysadmin)
    return incident


def _checked(incident, result: str, safeguard: str = "backup_verified") -> None:
    SafeguardCheck.objects.create(
        incident=incident,
        safeguard_id=safeguard,
        title=safeguard,
        result=result,
        summary=f"check said {result}",
        checked_at=timezone.now(),
    )


def test_restore_refuses_to_start_while_a_safeguard_is_unconfirmed(gated, sysadmin):
    restore = gated.steps.get(key="restore")
    with pytest.raises(services.ServiceError) as refused:
        runs.request_run(step_id=restore.pk, by=sysadmin)
    message = refused.value.message
    assert "Restore from backup is held by its safeguards" in message
    assert "backup_verified unconfirmed (not checked yet)" in message
    assert "backup_offsite unconfirmed (not confirmed)" in message
    assert not StepRun.objects.exists()


def test_restore_refuses_to_start_with_the_backup_check_failed(gated, sysadmin):
    _checked(gated, "fail")
    confirm_safeguard(incident_id=gated.pk, safeguard_id="backup_offsite", by=sysadmin)
    restore = gated.steps.get(key="restore")
    with pytest.raises(services.ServiceError, match=r"backup_verified failed \(check said fail"):
        runs.request_run(step_id=restore.pk, by=sysadmin)
    assert not StepRun.objects.exists()


def test_restore_starts_once_checked_and_confirmed(gated, sysadmin):
    _checked(gated, "pass")
    confirmation = confirm_safeguard(
        incident_id=gated.pk, safeguard_id="backup_offsite", by=sysadmin, note="copy in bucket B"
    )
    assert confirmation.valid_until - confirmation.confirmed_at == timedelta(minutes=60)
    run = runs.request_run(step_id=gated.steps.get(key="restore").pk, by=sysadmin)
    assert run.status == StepRun.Status.QUEUED and not run.safeguard_override_reason
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.SAFEGUARD_CONFIRMED)
    assert entry.actor == sysadmin and "copy in bucket B" in entry.text


def test_an_expired_confirmation_holds_the_step_again(gated, sysadmin):
    _checked(gated, "pass")
    confirm_safeguard(incident_id=gated.pk, safeguard_id="backup_offsite", by=sysadmin)
    SafeguardConfirmation.objects.update(valid_until=timezone.now() - timedelta(seconds=1))
    with pytest.raises(services.ServiceError, match="sysadmin's confirmation expired"):
        runs.request_run(step_id=gated.steps.get(key="restore").pk, by=sysadmin)


def test_the_ic_overrides_with_a_reason_on_the_timeline_and_in_the_postmortem(gated, ic):
    _checked(gated, "fail")
    restore = gated.steps.get(key="restore")
    run = runs.request_run(step_id=restore.pk, by=ic, override_reason="verified by hand at 02:10")
    assert run.status == StepRun.Status.QUEUED
    assert run.safeguard_override_reason == "verified by hand at 02:10"
    entry = TimelineEntry.objects.get(kind=TimelineEntry.Kind.SAFEGUARDS_OVERRIDDEN)
    assert entry.actor == ic and entry.step == restore
    assert entry.data["safeguards"] == [
        {"id": "backup_verified", "state": "failed"},
        {"id": "backup_offsite", "state": "unconfirmed"},
    ]
    markdown = render_markdown(postmortem_data(gated))
    assert "Safeguards overridden for Restore from backup" in markdown
    assert "Reason: verified by hand at 02:10" in markdown


def test_only_the_ic_may_override(gated, sysadmin):
    restore = gated.steps.get(key="restore")
    with pytest.raises(services.ServiceError, match="Only the incident commander"):
        runs.request_run(step_id=restore.pk, by=sysadmin, override_reason="trust me")
    assert not StepRun.objects.exists()


@pytest.mark.parametrize("who", ["backend", "viewer", "other_responder"])
def test_only_the_owner_role_or_the_ic_confirms(gated, request, who):
    with pytest.raises(services.ServiceError, match="owner role may confirm"):
        confirm_safeguard(
            incident_id=gated.pk, safeguard_id="backup_offsite", by=request.getfixturevalue(who)
        )
    assert not SafeguardConfirmation.objects.exists()


def test_a_checked_safeguard_is_not_confirmed_by_hand(gated, ic):
    with pytest.raises(services.ServiceError, match="checked by pre-flight"):
        confirm_safeguard(incident_id=gated.pk, safeguard_id="backup_verified", by=ic)


def test_approval_checks_the_gate_again(ic, backend, sysadmin):
    incident = services.open_incident(
        version=make_version(gated_spec(approval=True)),
        environment="staging",
        title="Gated",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    services.assign_role(
        incident_id=incident.pk, role_key="system_administrator", user_id=sysadmin.pk, by=ic
    )
    services.assign_role(
        incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=ic
    )
    services.complete_step(step_id=incident.steps.get(key="disable-v1").pk, by=backend)
    services.complete_step(step_id=incident.steps.get(key="stop-writes").pk, by=sysadmin)
    _checked(incident, "pass")
    confirm_safeguard(incident_id=incident.pk, safeguard_id="backup_offsite", by=sysadmin)
    run = runs.request_run(step_id=incident.steps.get(key="restore").pk, by=sysadmin)
    _checked(incident, "fail")  # pre-flight ran again meanwhile and the backup is gone
    with pytest.raises(services.ServiceError, match="backup_verified failed"):
        runs.approve_run(run_id=run.pk, by=ic)
    assert StepRun.objects.get(pk=run.pk).status == StepRun.Status.AWAITING_APPROVAL


def _worker_run(gated, ic, sysadmin):
    _checked(gated, "pass")
    confirm_safeguard(incident_id=gated.pk, safeguard_id="backup_offsite", by=sysadmin)
    run = runs.request_run(step_id=gated.steps.get(key="restore").pk, by=sysadmin)
    return StepRun.objects.select_related("step", "incident__runbook_version").get(pk=run.pk)


def test_preflight_runs_again_right_before_the_step_and_holds_it(gated, ic, sysadmin, tmp_path):
    run = _worker_run(gated, ic, sysadmin)
    # On the worker the marker is gone: the step must not start.
    with pytest.raises(ExecutorError, match=r"held by safeguards .*backup_verified failed"):
        preflight_before_step(run, {"MARKER": str(tmp_path / "gone")}, Redactor({}))
    latest = SafeguardCheck.objects.filter(safeguard_id="backup_verified").order_by("-pk")[0]
    assert latest.result == "fail"
    entry = TimelineEntry.objects.filter(kind=TimelineEntry.Kind.PREFLIGHT).latest("pk")
    assert entry.text.startswith("Pre-flight before Restore from backup: backup_verified fail")


def test_preflight_before_the_step_lets_it_start_when_the_checks_pass(
    gated, ic, sysadmin, tmp_path
):
    run = _worker_run(gated, ic, sysadmin)
    (tmp_path / "marker").write_text("ok")
    preflight_before_step(run, {"MARKER": str(tmp_path / "marker")}, Redactor({}))


def test_preflight_before_an_overridden_step_records_but_does_not_stop_it(gated, ic, tmp_path):
    run = runs.request_run(step_id=gated.steps.get(key="restore").pk, by=ic, override_reason="go")
    run = StepRun.objects.select_related("step", "incident__runbook_version").get(pk=run.pk)
    preflight_before_step(run, {"MARKER": str(tmp_path / "gone")}, Redactor({}))
    assert SafeguardCheck.objects.filter(safeguard_id="backup_verified", result="fail").exists()


def test_mig002_restore_waits_for_the_verified_backup(ic):
    call_command("load_runbooks", verbosity=0)
    incident = services.open_incident(
        version=latest_version("mig-002"),  # type: ignore[arg-type]
        environment="demo",
        title="MIG-002",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    restore = incident.steps.get(key="restore_database")
    restore.incident = incident
    assert restore.safeguards == ["backup_verified"]
    [item] = gates.gate_for(restore)
    assert (item.safeguard_id, item.state) == ("backup_verified", "unconfirmed")
    _checked(incident, "pass")
    assert gates.gate_for(restore)[0].holds


# --- pages and API ------------------------------------------------------------------


def test_confirm_control_on_the_page_and_its_post(client, gated, sysadmin):
    client.force_login(sysadmin)
    html = client.get(reverse("incidents:detail", args=[gated.pk])).content.decode()
    assert 'data-testid="confirm-backup_offsite"' in html
    assert "for-incident_commander for-system_administrator" in html
    assert 'data-testid="confirm-backup_verified"' not in html  # checked, not confirmed
    url = reverse("incidents:safeguard_confirm", args=[gated.pk, "backup_offsite"])
    response = client.post(url, {"note": "bucket B"})
    assert response.status_code == 200
    assert "Confirmed by sysadmin" in response.content.decode()
    assert SafeguardConfirmation.objects.get().note == "bucket B"


def test_confirm_page_refuses_others_with_403(client, gated, backend):
    client.force_login(backend)
    url = reverse("incidents:safeguard_confirm", args=[gated.pk, "backup_offsite"])
    assert client.post(url, {"note": "x"}).status_code == 403
    unknown = reverse("incidents:safeguard_confirm", args=[gated.pk, "nope"])
    assert client.post(unknown).status_code == 404


def test_override_form_runs_the_step_for_the_ic(client, gated, ic, sysadmin):
    client.force_login(sysadmin)
    url = reverse("incidents:run_override", args=[gated.pk, gated.steps.get(key="restore").pk])
    assert client.post(url, {"reason": "x"}).status_code == 403
    client.force_login(ic)
    html = client.post(url, {"reason": ""}).content.decode()
    assert "Say why the safeguards are overridden." in html and not StepRun.objects.exists()
    html = client.post(url, {"reason": "verified by hand"}).content.decode()
    assert StepRun.objects.get().safeguard_override_reason == "verified by hand"


def test_run_button_refusal_names_the_safeguards(client, gated, sysadmin):
    client.force_login(sysadmin)
    url = reverse("incidents:run_request", args=[gated.pk, gated.steps.get(key="restore").pk])
    html = client.post(url).content.decode()
    assert "is held by its safeguards" in html and 'data-testid="step-gate"' in html


def test_api_gate_confirm_and_override(api_as, gated, ic, sysadmin):
    restore = gated.steps.get(key="restore")
    api = api_as(sysadmin)
    gate = api.get(f"/incidents/{gated.pk}/steps/{restore.pk}/gate").json()
    assert [(g["safeguard"], g["state"]) for g in gate] == [
        ("backup_verified", "unconfirmed"),
        ("backup_offsite", "unconfirmed"),
    ]
    refused = api.post(f"/incidents/{gated.pk}/steps/{restore.pk}/run")
    assert refused.status_code == 400 and "held by its safeguards" in refused.json()["detail"]
    confirmed = api.post(f"/incidents/{gated.pk}/safeguards/backup_offsite/confirm", {"note": "B"})
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_by"] == "sysadmin"
    assert (
        api.post(
            f"/incidents/{gated.pk}/steps/{restore.pk}/run-override", {"reason": "x"}
        ).status_code
        == 403
    )
    overridden = api_as(ic).post(
        f"/incidents/{gated.pk}/steps/{restore.pk}/run-override", {"reason": "checked by hand"}
    )
    assert overridden.status_code == 201 and overridden.json()["status"] == "queued"
    empty = api_as(ic).post(
        f"/incidents/{gated.pk}/steps/{restore.pk}/run-override", {"reason": ""}
    )
    assert empty.status_code == 422


# --- the runbook format ------------------------------------------------------------


def test_check_runbook_locates_unknown_safeguards_owners_and_manual_gates():
    from runbooks.importers.checks import check_references
    from runbooks.importers.yaml import parse_runbook
    from tests.runbooks.samples import VALID_RUNBOOK

    text = (
        VALID_RUNBOOK.replace(
            "phases:\n",
            "safeguards:\n  - {id: offsite, category: backups, title: Off-site, owner: ceo}\nphases:\n",
        )
        .replace(
            "        approval: incident_commander\n",
            "        approval: incident_commander\n        safeguards: [offsite, nope]\n",
        )
        .replace(
            "        title: Stop writes\n        owner: dba\n",
            "        title: Stop writes\n        owner: dba\n        safeguards: [offsite]\n",
        )
    )
    parsed = parse_runbook(text, path="rb.yaml")
    problems = [(p.field, p.message) for p in check_references(parsed.spec, parsed.locator)]
    assert (
        "safeguards[0].owner",
        "unknown role 'ceo' (roles: dba, incident_commander)",
    ) in problems
    assert ("phases[0].steps[1].safeguards[1]", "unknown safeguard 'nope'") in problems
    assert (
        "phases[0].steps[0].safeguards[0]",
        "only a scripted step's run waits for safeguards; a manual step is ticked",
    ) in problems
    assert len(problems) == 3
