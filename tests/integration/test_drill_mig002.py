"""An MIG-002 drill on the demo target, phase by phase, scored at resolve.

Every scripted step runs for real on a Celery worker (the application rollback
included: the demo application reports v1.4.2 afterwards); the restore waits for its
backup safeguard; the IC resolves; the scorecard is checked against the stored Phase
rows; the runbook page shows the "last drill" badge, stale once a newer version of the
runbook is loaded.

The stack, the demo target and the cast are those of ``test_mig002_app_steps`` (its
fixtures and step helpers, imported so pytest builds them for this module too).
"""

from __future__ import annotations

import shutil
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from demo_target.releases import BAD_TAG, GOOD_TAG
from incidents.models import DrillScorecard, Incident, Phase, StepRun
from tests.integration import test_mig002_app_steps as app_steps
from tests.integration.processes import ROOT, wait_for
from tests.integration.runs import assign, log_of, open_incident, step_id
from tests.integration.test_mig002_app_steps import read_only, run_step, tick
from tests.measured import hold_all

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

# That module's fixtures, built again for this module (module scope: its own app and worker).
demo_app = app_steps.demo_app
stack = app_steps.stack
target = app_steps.target
api = app_steps.api

CAST = [
    ("system_administrator", "sysadmin"),
    ("backend_engineer", "backend"),
    ("frontend_engineer", "frontend"),
    ("devops_engineer", "devops"),
    ("product_manager", "pm"),
]


def phase_row(incident_id: int, key: str) -> Phase:
    return Phase.objects.get(incident_id=incident_id, key=key)


def assert_phase_ended_and_next_started(incident_id: int, key: str, following: str) -> None:
    wait_for(
        lambda: phase_row(incident_id, key).ended_at is not None,
        timeout=15,
        what=f"phase {key} to end",
    )
    assert phase_row(incident_id, following).started_at is not None


def wait_gate_holds(api, incident: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """The step's safeguards hold: the pre-flight the open queued has passed them."""
    url = f"/incidents/{incident['id']}/steps/{step_id(incident, key)}/gate"
    wait_for(
        lambda: all(i["state"] == "ok" for i in api("ic").get(url).json()),
        timeout=60,
        what=f"the safeguards of {key} to hold",
    )
    items: list[dict[str, Any]] = api("ic").get(url).json()
    return items


def expected_phase(phase: Phase) -> dict[str, Any]:
    """What the scorecard must say of a phase, from its stored times."""
    assert phase.started_at is not None and phase.ended_at is not None
    return {
        "key": phase.key,
        "title": phase.title,
        "planned_minutes": phase.ends_at_minutes - phase.starts_at_minutes,
        "actual_minutes": round((phase.ended_at - phase.started_at).total_seconds() / 60, 1),
        "overrun_minutes": max(
            0.0, round((phase.ended_at - phase.planned_end_at).total_seconds() / 60, 1)
        ),
        "ended": True,
    }


def runbook_page(username: str) -> str:
    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    response = client.get("/runbooks/mig-002/")
    assert response.status_code == 200
    return response.content.decode()


@pytest.mark.timeout(300)
def test_mig002_drill_on_the_demo_target_runs_phase_by_phase_and_is_scored(
    target, demo_app, api, tmp_path
):
    call_command("load_runbooks", verbosity=0)
    incident = open_incident(api, "mig-002", "demo")  # a drill (is_drill) on environment demo
    iid = incident["id"]
    assert Incident.objects.get(pk=iid).is_drill
    for role, who in CAST:
        assign(api, incident, role, who)
    broken = demo_app.version()
    assert broken and broken["version"] == BAD_TAG

    # Phase 1, Immediate service preservation: manual steps by their owners.
    tick(api, incident, "disable_new_endpoints", "backend")
    tick(api, incident, "activate_maintenance_mode", "frontend")
    tick(api, incident, "scale_down_new_services", "devops")
    tick(api, incident, "monitor_alerts", "devops")
    assert_phase_ended_and_next_started(iid, "service_preservation", "data_rollback")

    # Phase 2, Data rollback. The restore is gated on the verified backup: it starts
    # once the pre-flight has passed it; the manual "stored separately" one is confirmed.
    run_step(api, incident, "stop_writes", "sysadmin")
    assert read_only() == "on"
    confirmed = api("sysadmin").post(
        f"/incidents/{iid}/safeguards/backup_stored_separately/confirm",
        {"note": "drill: the backup sits on the second volume"},
    )
    assert confirmed.status_code == 200, confirmed.body
    gate = wait_gate_holds(api, incident, "restore_database")
    assert [(i["safeguard"], i["state"]) for i in gate] == [("backup_verified", "ok")]
    run_step(api, incident, "restore_database", "sysadmin", approver="ic")
    run_step(api, incident, "verify_data_integrity", "backend")
    tick(api, incident, "update_schema", "sysadmin")
    assert_phase_ended_and_next_started(iid, "data_rollback", "system_restoration")

    # Phase 3, System restoration: the application rollback really happens.
    deployed = run_step(api, incident, "deploy_previous_version", "devops")
    previous = demo_app.version()
    assert previous and previous["version"] == GOOD_TAG, log_of(deployed.pk)
    assert previous["pid"] != broken["pid"]
    tick(api, incident, "update_configuration", "devops")
    run_step(api, incident, "lift_read_only", "devops")
    assert read_only() == "off"
    run_step(api, incident, "restart_services", "devops")
    now = demo_app.version()
    assert now and now["version"] == GOOD_TAG and now["pid"] != previous["pid"]
    tick(api, incident, "verify_functionality", "backend")
    for key in ("revert_stable_build", "update_api_endpoints", "clear_user_caches"):
        tick(api, incident, key, "frontend")
    tick(api, incident, "test_user_workflows", "frontend")
    assert_phase_ended_and_next_started(iid, "system_restoration", "validation_monitoring")

    # Phase 4, Validation and monitoring: the checks pass against the restarted app.
    for key in ("smoke_tests", "verify_auth", "api_data_consistency"):
        run_step(api, incident, key, "backend")
    tick(api, incident, "performance_tests", "devops")
    scripted = StepRun.objects.filter(step__incident_id=iid, status="succeeded")
    assert set(scripted.values_list("step__key", flat=True)) == {
        "stop_writes",
        "restore_database",
        "verify_data_integrity",
        "deploy_previous_version",
        "lift_read_only",
        "restart_services",
        "smoke_tests",
        "verify_auth",
        "api_data_consistency",
    }
    assert (demo_app.version() or {}).get("version") == GOOD_TAG

    # Sign-offs by the holders of the criteria's roles, then the IC resolves.
    criteria = api("ic").get(f"/incidents/{iid}/criteria").json()["criteria"]
    signers = {"product_manager": "pm", "backend_engineer": "backend", "devops_engineer": "devops"}
    for criterion in criteria:
        if criterion["signoff_role"]:
            signed = api(signers[criterion["signoff_role"]]).post(
                f"/incidents/{iid}/criteria/{criterion['id']}/signoff"
            )
            assert signed.status_code == 200, signed.body
    # The metric checks (criteria9): the demo has no Prometheus; record them as held.
    hold_all(iid, timezone.now())
    resolved = api("ic").post(f"/incidents/{iid}/resolve", {"reason": ""})
    assert resolved.status_code == 200, resolved.body
    assert resolved.json()["status"] == "resolved"

    # The scorecard, against the stored phase times.
    card = DrillScorecard.objects.get(incident_id=iid)
    phases = list(Phase.objects.filter(incident_id=iid).order_by("position"))
    assert [p.key for p in phases] == [
        "service_preservation",
        "data_rollback",
        "system_restoration",
        "validation_monitoring",
    ]
    data = card.data
    assert data["phases"] == [expected_phase(p) for p in phases]
    assert [p["planned_minutes"] for p in data["phases"]] == [15, 45, 60, 120]
    assert all(p["overrun_minutes"] == 0 for p in data["phases"])
    assert data["criteria"] == {"met": len(criteria), "total": len(criteria)}
    assert data["skipped"] == [] and data["overridden"] == [] and data["failed_runs"] == []
    assert not [c for c in data["failed_checks"] if not c.startswith("safeguard ")]
    assert [w["step"] for w in data["approval_waits"]] == ["restore_database"]
    assert set(data["first_action_seconds"]) == {
        "system_administrator",
        "backend_engineer",
        "frontend_engineer",
        "devops_engineer",
    }
    assert (card.score, card.passed) == (100, True)
    assert card.runbook_version_id == Incident.objects.get(pk=iid).runbook_version_id
    version = card.runbook_version.number

    # The runbook page: the history row and the "last drill" badge, not stale.
    page = runbook_page("ic")
    assert f'data-testid="drill-{iid}"' in page
    assert f"· v{version} · score 100" in page
    assert "stale" not in page.split('data-testid="last-drill"')[1].split("</span>")[0]

    # A newer version of the runbook is loaded: the badge says it is stale.
    folder = tmp_path / "mig-002"
    shutil.copytree(ROOT / "runbooks" / "library" / "mig-002", folder)
    spec = folder / "runbook.yaml"
    spec.write_text(spec.read_text() + "\n# A newer version: the drill above ran the older one.\n")
    call_command("load_runbooks", str(folder), verbosity=0)
    badge = runbook_page("ic").split('data-testid="last-drill"')[1].split("</span>")[0]
    assert f"· v{version} · score 100" in badge
    assert f"stale: v{version + 1} is newer" in badge
