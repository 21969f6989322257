"""The results panel: every validation of the runbook, its latest result and evidence, in 3 queries."""

from __future__ import annotations

import pytest
from django.template.loader import render_to_string
from django.utils import timezone

from incidents import services as incident_services
from incidents.checks import services
from incidents.checks.selectors import results_panel
from incidents.models import Incident, Snapshot, Step, StepRun
from runbooks.executors.base import Outcome
from tests.factories import make_version

pytestmark = pytest.mark.django_db


@pytest.fixture
def mig_incident(mig002, ic, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return incident_services.open_incident(
            version=make_version(mig002.model_dump(mode="json")),
            environment="demo",
            title="MIG-002 drill",
            severity="sev2",
            is_drill=True,
            opened_by=ic,
        )


def record(incident, by, *items):
    step = Step.objects.get(incident=incident, key="verify_auth")
    attempt = StepRun.objects.filter(step=step).count() + 1
    run = StepRun.objects.create(
        step=step, incident=incident, attempt=attempt, status=StepRun.Status.FAILED,
        requested_by=by, requested_at=timezone.now(),
    )  # fmt: skip
    checks = [
        {"id": key, "title": key, "family": "auth_data", "kind": "sql", "result": result,
         "summary": f"{key} {result}", "evidence": evidence, "checked_at": timezone.now().isoformat()}
        for key, result, evidence in items
    ]  # fmt: skip
    services.record_results(run.pk, Outcome(False, evidence={"checks": checks}))


HASH_EVIDENCE = {
    "ran": "SELECT id FROM users WHERE password_hash !~ '...'",
    "expected": {"no_rows": True},
    "seen": {"rows": 3, "first_rows": [[5], [17], [42]]},
    "differences": ["3 users whose password hash is not valid found, none expected"],
    "params": None,
}


def test_results_panel_lists_every_validation_with_its_latest_result(
    mig_incident, ic, django_assert_num_queries
):
    record(mig_incident, ic, ("password_hashes_valid", "pass", {}), ("login_works", "error", {}))
    record(mig_incident, ic, ("password_hashes_valid", "fail", HASH_EVIDENCE))
    Snapshot.objects.create(incident=mig_incident, taken_at=timezone.now(), error="no route")
    incident = Incident.objects.get(pk=mig_incident.pk)

    with django_assert_num_queries(3):
        panel = results_panel(incident)

    assert [label for label, _ in panel.families] == [
        "User data",
        "Task data",
        "Auth data",
        "Application",
    ]
    rows = {row.validation_id: row for _, group in panel.families for row in group}
    assert len(rows) == 10
    assert panel.counts == {"pass": 0, "fail": 1, "error": 1, "not_run": 8}
    hashes = rows["password_hashes_valid"]
    assert (hashes.result, hashes.summary, hashes.kind) == (
        "fail",
        "password_hashes_valid fail",
        "sql",
    )
    assert hashes.differences == HASH_EVIDENCE["differences"]
    assert '"no_rows": true' in hashes.expected
    assert rows["user_accounts_exist"].result_label == "not run"


def test_results_panel_renders_badges_and_evidence(mig_incident, ic):
    record(mig_incident, ic, ("password_hashes_valid", "fail", HASH_EVIDENCE))

    html = render_to_string("validation/_results.html", {"panel": results_panel(mig_incident)})

    assert html.count(f'<section id="validation-{mig_incident.pk}"') == 1
    assert f'id="validation-{mig_incident.pk}-password_hashes_valid"' in html
    assert 'data-result="fail"' in html and html.count('data-result="not_run"') == 9
    assert "Confirm password hashes are valid" in html
    assert "SELECT id FROM users WHERE password_hash !~ &#x27;...&#x27;" in html  # escaped
    assert "<li>3 users whose password hash is not valid found, none expected</li>" in html
    assert "not run" in html
