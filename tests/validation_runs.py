"""A small runbook whose proof is validation checks, and check results recorded as a worker does.

``run_checks`` goes through the real path minus the executor: the run is
requested (``runs.request_run``), claimed and finished by the worker's own
functions, and ``finish_run`` stores the ``CheckResult`` rows through
``incidents.checks.services.record_results``. Nothing stands in for the selectors.
"""

from __future__ import annotations

import copy
from collections.abc import Collection, Mapping
from typing import Any

from django.contrib.auth.models import User
from django.utils import timezone

from incidents import services
from incidents.execution.finish import finish_run, mark_started
from incidents.execution.runner import claim
from incidents.models import Criterion, Incident, RoleAssignment, Step, StepRun
from incidents.services import runs
from runbooks.executors.base import Outcome
from tests.factories import SMALL_RUNBOOK

VALIDATIONS = {
    "tasks_intact": "Every task is still there",
    "users_intact": "Every user account is still there",
    "profiles_intact": "Profiles match the backup",
}

# SMALL_RUNBOOK whose second phase proves the rollback: a manual smoke test, a
# required validation step and an optional one; three success criteria (checks
# only, checks and a sign-off, a sign-off only).
CHECKED_RUNBOOK: dict[str, Any] = copy.deepcopy(SMALL_RUNBOOK)
CHECKED_RUNBOOK["id"] = "checked"
CHECKED_RUNBOOK["phases"][1]["steps"] = [
    {"id": "smoke", "title": "Execute smoke tests", "owner": "backend_engineer"},
    {
        "id": "verify-data",
        "title": "Verify data integrity",
        "owner": "backend_engineer",
        "kind": "validation",
        "validations": ["tasks_intact", "users_intact"],
    },
    {
        "id": "spot-check",
        "title": "Spot-check profiles",
        "owner": "backend_engineer",
        "kind": "validation",
        "optional": True,
        "validations": ["profiles_intact"],
    },
]
CHECKED_RUNBOOK["validations"] = [
    {"id": key, "family": "user_data", "title": title, "check": {"kind": "sql", "params": {}}}
    for key, title in VALIDATIONS.items()
]
CHECKED_RUNBOOK["success_criteria"] = [
    {
        "id": "no-data-lost",
        "title": "No data lost",
        "validations": ["tasks_intact", "users_intact"],
    },
    {
        "id": "users-served",
        "title": "Users can work again",
        "validations": ["users_intact"],
        "signoff": "backend_engineer",
    },
    {"id": "ops-normal", "title": "Operations back to normal", "signoff": "system_administrator"},
]


def run_checks(step: Step, by: User, results: Mapping[str, str]) -> StepRun:
    """Run validation ``step`` with these results ("pass", "fail", "error"), as a worker would."""
    run = runs.request_run(step_id=step.pk, by=by)
    assert claim(run.pk), "the run was not queued"
    mark_started(StepRun.objects.select_related("step").get(pk=run.pk))
    checks = [
        {
            "id": key,
            "title": VALIDATIONS[key],
            "family": "user_data",
            "kind": "sql",
            "result": result,
            "summary": f"{key}: {result}",
            "evidence": {},
            "checked_at": timezone.now().isoformat(),
        }
        for key, result in results.items()
    ]
    not_passed = [key for key, result in results.items() if result != "pass"]
    summary = (
        f"{len(not_passed)} of {len(checks)} checks did not pass: {', '.join(not_passed)}"
        if not_passed
        else f"all {len(checks)} checks passed"
    )
    status = StepRun.Status.FAILED if not_passed else StepRun.Status.SUCCEEDED
    finish_run(
        run.pk, status, Outcome(not not_passed, summary=summary, evidence={"checks": checks})
    )
    return StepRun.objects.get(pk=run.pk)


ALL_PASS = {"tasks_intact": "pass", "users_intact": "pass"}


def meet_criteria(
    incident: Incident, results: Mapping[str, str] = ALL_PASS, unsigned: Collection[str] = ()
) -> None:
    """Run "Verify data integrity" with ``results``, and sign off every criterion not ``unsigned``.

    Each run and sign-off is made by the person holding the role it belongs to.
    """

    def holder(role_key: str) -> User:
        return RoleAssignment.objects.get(incident=incident, role__key=role_key).user

    verify = Step.objects.get(incident=incident, key="verify-data")
    run_checks(verify, holder(verify.owner_role), results)
    for criterion in Criterion.objects.filter(incident=incident).exclude(signoff_role=""):
        if criterion.key not in unsigned:
            services.sign_off(criterion_id=criterion.pk, by=holder(criterion.signoff_role))
