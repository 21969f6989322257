"""API: a validation step whose checks failed is skipped only by the IC, as an override."""

from __future__ import annotations

import pytest

from incidents.models import Step
from tests.factories import make_version
from tests.validation_runs import CHECKED_RUNBOOK, run_checks

pytestmark = pytest.mark.django_db


@pytest.fixture
def version(db):
    """Overrides conftest's: the small runbook whose second phase is proven by checks."""
    return make_version(CHECKED_RUNBOOK)


def test_only_the_ic_skips_a_validation_step_whose_checks_failed(
    api_as, incident, step, backend, ic
):
    verify = step("verify-data")
    run_checks(verify, backend, {"tasks_intact": "fail", "users_intact": "pass"})
    url = f"/incidents/{incident.pk}/steps/{verify.pk}/skip"

    refused = api_as(backend).post(url, {"reason": "looked fine to me"})
    assert refused.status_code == 400
    assert refused.json() == {
        "detail": "Its checks did not pass (Every task is still there (failed)). Run it again "
        "once fixed; only the incident commander may skip it, overriding them."
    }
    assert step("verify-data").state == Step.State.PENDING

    overridden = api_as(ic).post(url, {"reason": "tasks re-imported by hand"})
    assert overridden.status_code == 200
    assert (overridden.json()["state"], overridden.json()["skip_reason"]) == (
        "skipped",
        "tasks re-imported by hand",
    )
    timeline = api_as(ic).get(f"/incidents/{incident.pk}/timeline").json()["entries"]
    assert timeline[0]["text"].startswith("Skipped by the IC, overriding failed checks")
