"""A finished MIG-002 drill on a controllable clock, for the postmortem tests.

Everything goes through the services (and the worker's claim/finish for runs),
as people and workers would do it. T0 is 09:00 UTC; the story in minutes:

  0  ic opens it            1  roles assigned (pm holds product manager)
  3-16 phase 1 ticked       16 phase 1 ends one minute over budget
 18-20 stop_writes runs      21-25 restore fails (attempt 1), approved by ic
 30  ic hands over to ic2   31-40 restore succeeds (attempt 2), approved by ic2
 42 verify_data_integrity skipped (never run, so its owner may): phase 2 ends on time
    (update_schema is optional)
 45-85 phase 3 (two scripted runs, the rest ticked; update_schema skipped); ends at 85
 95-100 phase 4 partly done, devops signs off performance
 130 ic2 resolves with criteria unmet, giving an override reason
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from incidents import services
from incidents.execution.finish import finish_run, mark_started
from incidents.execution.runner import claim
from incidents.models import (
    Criterion,
    Incident,
    MetricMeasurement,
    SafeguardCheck,
    Step,
    StepRun,
)
from incidents.services import runs
from runbooks.executors.base import Outcome
from runbooks.selectors import latest_version
from tests.factories import make_user

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
NOTE_WITH_PIPE = "API error rate 14% | users see 500s on /v1/tasks"
NOTE_MULTILINE = "Smoke tests by hand:\n- login ok\n- create task ok"
OVERRIDE_REASON = "Drill: the checks were skipped, not run | sign-offs pending\nFollow up in #ops"
SKIP_REASONS = {
    "verify_data_integrity": "checked by hand: row counts match the backup",
    "update_schema": "the restore brought back the integer schema",
    "smoke_tests": "covered by the manual smoke test in the note",
    "verify_auth": "login checked by hand",
}


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def at(self, minutes: float) -> datetime:
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


@dataclass
class Demo:
    incident: Incident
    people: dict[str, User] = field(default_factory=dict)


def build_demo(clock: Clock, ic: User) -> Demo:
    """Open, work through and resolve MIG-002. Call inside captured on-commit callbacks."""
    call_command("load_runbooks", verbosity=0)
    people = {
        "ic": ic,
        "ic2": make_user("ic2", COMMANDERS),
        "backend": make_user("backend-eng", RESPONDERS),
        "sysadmin": make_user("sysadmin-eng", RESPONDERS),
        "devops": make_user("devops-eng", RESPONDERS),
        "frontend": make_user("frontend-eng", RESPONDERS),
        "pm": make_user("product-pm", VIEWERS),
    }
    clock.at(0)
    incident = services.open_incident(
        version=latest_version("mig-002"),  # type: ignore[arg-type]
        environment="demo",
        title="MIG-002 rollback | drill",
        severity="sev1",
        is_drill=True,
        opened_by=ic,
    )
    demo = Demo(incident, people)
    clock.at(1)
    for role, who in [
        ("backend_engineer", "backend"),
        ("system_administrator", "sysadmin"),
        ("devops_engineer", "devops"),
        ("frontend_engineer", "frontend"),
        ("product_manager", "pm"),
    ]:
        services.assign_role(incident_id=incident.pk, role_key=role, user_id=people[who].pk, by=ic)

    tick(demo, clock, 3, "disable_new_endpoints", "backend")
    tick(demo, clock, 5, "activate_maintenance_mode", "frontend")
    tick(demo, clock, 8, "scale_down_new_services", "devops")
    clock.at(10)
    services.add_note(incident_id=incident.pk, author=ic, text=NOTE_WITH_PIPE)
    tick(demo, clock, 16, "monitor_alerts", "devops")  # phase 1 ends late

    # Pre-flight on a worker found the backup verified: the restore waits for that safeguard.
    SafeguardCheck.objects.create(
        incident=incident,
        safeguard_id="backup_verified",
        title="Backup verification script executed before migration",
        result=SafeguardCheck.Result.PASS,
        summary="backup verified",
        checked_at=clock.at(17),
    )
    run(demo, clock, (18, 18, 19.5), "stop_writes", "sysadmin", ok=True, summary="read-only on")
    run(demo, clock, (20, 21, 25), "restore_database", "sysadmin", ok=False, approver="ic")
    clock.at(30)
    services.assign_role(
        incident_id=incident.pk, role_key="incident_commander", user_id=people["ic2"].pk, by=ic
    )
    run(demo, clock, (31, 32, 40), "restore_database", "sysadmin", ok=True, approver="ic2")
    skip(demo, clock, 42, "verify_data_integrity", "backend")  # phase 2 ends on time
    skip(demo, clock, 45, "update_schema", "sysadmin")  # optional: it did not hold phase 2

    run(demo, clock, (50, 50, 58), "deploy_previous_version", "devops", ok=True)
    tick(demo, clock, 62, "update_configuration", "devops")
    run(demo, clock, (62.5, 62.5, 63), "lift_read_only", "devops", ok=True)
    run(demo, clock, (63, 63, 64), "restart_services", "devops", ok=True)
    tick(demo, clock, 70, "verify_functionality", "backend")
    tick(demo, clock, 72, "revert_stable_build", "frontend")
    tick(demo, clock, 75, "update_api_endpoints", "frontend")
    tick(demo, clock, 78, "clear_user_caches", "frontend")
    tick(demo, clock, 85, "test_user_workflows", "frontend")  # phase 3 ends

    skip(demo, clock, 90, "smoke_tests", "backend")
    tick(demo, clock, 95, "performance_tests", "devops")
    skip(demo, clock, 97, "verify_auth", "backend")
    clock.at(99)
    services.add_note(incident_id=incident.pk, author=people["backend"], text=NOTE_MULTILINE)
    clock.at(100)
    performance = Criterion.objects.get(incident=incident, key="performance_baseline")
    measured(performance, clock)
    services.sign_off(criterion_id=performance.pk, by=people["devops"])
    # api_data_consistency stays pending: the IC resolves over it.
    clock.at(130)
    services.resolve_incident(
        incident_id=incident.pk, by=people["ic2"], override_reason=OVERRIDE_REASON
    )
    incident.refresh_from_db()
    return demo


def measured(criterion: Criterion, clock: Clock) -> None:
    """p95 back at its baseline, measured each minute from 94 to 99 (held 5 minutes)."""
    for minute in range(94, 100):
        MetricMeasurement.objects.create(
            incident=criterion.incident,
            criterion=criterion,
            metric_key="p95_at_baseline",
            measured_at=T0 + timedelta(minutes=minute),
            outcome=MetricMeasurement.Outcome.PASS,
            value=0.97,
            comparison="<=",
            threshold=1.1,
            samples=1830,
            min_samples=200,
            window="5m",
            hold_minutes=5,
            held_since=T0 + timedelta(minutes=94),
            reason="0.97 <= 1.1 on 1830 samples over 5m",
            query="p95 now / p95 before the incident",
        )


def step(demo: Demo, key: str) -> Step:
    return Step.objects.get(incident=demo.incident, key=key)


def tick(demo: Demo, clock: Clock, minute: float, key: str, who: str) -> None:
    clock.at(minute)
    services.complete_step(step_id=step(demo, key).pk, by=demo.people[who])


def skip(demo: Demo, clock: Clock, minute: float, key: str, who: str) -> None:
    clock.at(minute)
    services.skip_step(step_id=step(demo, key).pk, by=demo.people[who], reason=SKIP_REASONS[key])


def run(
    demo: Demo,
    clock: Clock,
    minutes: tuple[float, float, float],
    key: str,
    who: str,
    *,
    ok: bool,
    approver: str | None = None,
    summary: str = "",
) -> StepRun:
    """Request (and approve), then claim and finish as a worker would: at the given minutes."""
    asked, started, finished = minutes
    clock.at(asked)
    attempt = runs.request_run(step_id=step(demo, key).pk, by=demo.people[who])
    if approver:
        runs.approve_run(run_id=attempt.pk, by=demo.people[approver])
    clock.at(started)
    assert claim(attempt.pk)
    mark_started(StepRun.objects.select_related("step").get(pk=attempt.pk))
    clock.at(finished)
    status = StepRun.Status.SUCCEEDED if ok else StepRun.Status.FAILED
    outcome = Outcome(
        succeeded=ok, exit_code=0 if ok else 1, summary=summary or f"exit {0 if ok else 1}"
    )
    finish_run(attempt.pk, status, outcome)
    return attempt


def install_clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(timezone, "now", lambda: clock.now)
    return clock
