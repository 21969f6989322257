from __future__ import annotations

from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.test import AsyncClient

from incidents import logs as run_views
from incidents import services
from incidents.models import Step, StepRun, StepRunLogChunk
from tests.api.conftest import BASE, make_token

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch):
    from incidents import tasks

    sent = []
    monkeypatch.setattr(
        tasks.execute_step_run_task,
        "apply_async",
        lambda args, kwargs=None, **options: sent.append(args),
    )
    return sent


@pytest.fixture
def restore(incident, step, backend, sysadmin):
    services.complete_step(step_id=step("disable-v1").pk, by=backend)
    services.complete_step(step_id=step("stop-writes").pk, by=sysadmin)
    return step("restore")


def run_url(incident, run, action=""):
    return f"/incidents/{incident.pk}/runs/{run['id']}{action}"


def test_owner_runs_gated_step_and_ic_approves(api_as, incident, restore, sysadmin, ic):
    created = api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run")
    assert created.status_code == 201
    run = created.json()
    assert (run["status"], run["attempt"], run["requested_by"]) == (
        "awaiting_approval",
        1,
        "sysadmin",
    )
    assert api_as(sysadmin).post(run_url(incident, run, "/approve")).status_code == 403
    approved = api_as(ic).post(run_url(incident, run, "/approve"))
    assert approved.status_code == 200 and approved.json()["status"] == "queued"


def test_second_run_request_is_a_conflict(api_as, incident, restore, sysadmin, ic):
    assert (
        api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run").status_code == 201
    )
    again = api_as(ic).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run")
    assert again.status_code == 409 and "already has a run" in again.json()["detail"]


def test_viewer_sees_run_state_but_not_its_log(api_as, incident, restore, sysadmin, viewer):
    run = api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run").json()
    StepRun.objects.filter(pk=run["id"]).update(log_tail="restoring...", log_lines=1)
    StepRunLogChunk.objects.create(run_id=run["id"], seq=0, first_line=0, data=b"restoring...\n")
    seen = api_as(viewer).get(run_url(incident, run))
    assert seen.status_code == 200 and seen.json()["log_tail"] is None
    assert api_as(viewer).get(run_url(incident, run, "/log")).status_code == 403
    log = api_as(sysadmin).get(run_url(incident, run, "/log"))
    assert log.status_code == 200 and b"".join(log.streaming_content) == b"restoring...\n"


def test_log_is_streamed_a_few_chunks_at_a_time_under_asgi(
    api_as, incident, restore, sysadmin, monkeypatch
):
    """Served by an ASGI server, the log body is an async iterator reading a few chunks per
    query: a synchronous one would be read whole into a list by Django first."""
    run = api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run").json()
    texts = [f"line {i}\n".encode() for i in range(7)]
    for seq, text in enumerate(texts):
        StepRunLogChunk.objects.create(run_id=run["id"], seq=seq, first_line=seq, data=text)
    batches = []
    read_batch = run_views._log_batch

    def counting(run_id, after_seq):
        batches.append(after_seq)
        return read_batch(run_id, after_seq)

    monkeypatch.setattr(run_views, "LOG_BATCH", 3)
    monkeypatch.setattr(run_views, "_log_batch", counting)
    headers = {"Authorization": f"Bearer {make_token(sysadmin)}"}

    async def download():
        response: Any = await AsyncClient().get(
            BASE + run_url(incident, run, "/log"), headers=headers
        )
        return response, [part async for part in response.streaming_content]

    response, parts = async_to_sync(download)()
    assert response.status_code == 200 and response.is_async
    assert b"".join(parts) == b"".join(texts)
    assert batches == [-1, 2, 5, 6]  # three chunks, three, one, then nothing


def test_non_owner_cannot_run_or_cancel(api_as, incident, restore, sysadmin, other_responder):
    assert (
        api_as(other_responder).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run").status_code
        == 403
    )
    run = api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run").json()
    assert api_as(other_responder).post(run_url(incident, run, "/cancel")).status_code == 403
    cancelled = api_as(sysadmin).post(run_url(incident, run, "/cancel"))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"


def test_step_under_way_cannot_be_skipped_nor_its_requirement_reopened(
    api_as, incident, restore, step, sysadmin, ic
):
    run = api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run").json()
    assert api_as(ic).post(run_url(incident, run, "/approve")).status_code == 200
    skipped = api_as(ic).post(
        f"/incidents/{incident.pk}/steps/{restore.pk}/skip", {"reason": "done by hand"}
    )
    assert skipped.status_code == 409
    assert skipped.json() == {
        "detail": "This step has a run under way (queued); cancel the run first."
    }
    stop_writes = step("stop-writes")
    reopened = api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{stop_writes.pk}/reopen")
    assert reopened.status_code == 400
    assert "Restore from backup (queued)" in reopened.json()["detail"]
    assert (step("restore").state, step("stop-writes").state) == ("pending", "done")


def test_approval_rechecks_the_step_requirements(api_as, incident, restore, step, sysadmin, ic):
    run = api_as(sysadmin).post(f"/incidents/{incident.pk}/steps/{restore.pk}/run").json()
    Step.objects.filter(pk=step("stop-writes").pk).update(state=Step.State.PENDING)
    refused = api_as(ic).post(run_url(incident, run, "/approve"))
    assert refused.status_code == 400
    assert refused.json() == {"detail": "First finish or skip: Stop all write operations."}
    assert StepRun.objects.get(pk=run["id"]).status == StepRun.Status.AWAITING_APPROVAL
