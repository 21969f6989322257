"""The public page leaks nothing: only what an update says is public.

An incident full of secrets, people, step titles, log lines and notes publishes one update;
none of the rest appears on the page, the feed or summary.json, until an update says it.
"""

from __future__ import annotations

import pytest
from django.test import Client
from django.utils import timezone

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from incidents import services as incident_services
from incidents.models import StepRun, StepRunLogChunk
from statuspage.services import publish_update
from tests.factories import make_user, make_version
from tests.permissions_matrix import PERMS_RUNBOOK

SECRET = "hunter2-Zq9v-not-for-the-public"
LOG_LINE = "pg_restore: restored 4096 rows into todo.tasks_v2"
NOTE = "Grace thinks the v2 migration dropped the index"


@pytest.fixture
def busy_incident(db, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setenv("TODO_PG_PASSWORD", SECRET)
    commander = make_user("grace-hopper-ic", COMMANDERS, email="grace@corp.example")
    backend = make_user("linus-backend-eng", RESPONDERS)
    pm = make_user("margaret-product-mgr", VIEWERS)
    with django_capture_on_commit_callbacks(execute=False):
        incident = incident_services.open_incident(
            version=make_version(PERMS_RUNBOOK),
            environment="staging",
            title="MIG-002 tasks_v2 column rename broke writes",
            severity="sev1",
            is_drill=True,
            opened_by=commander,
        )
        incident_services.assign_role(
            incident_id=incident.pk, role_key="backend_engineer", user_id=backend.pk, by=commander
        )
        incident_services.add_note(incident_id=incident.pk, author=commander, text=NOTE)
        incident_services.add_note(
            incident_id=incident.pk, author=commander, text=f"PGPASSWORD={SECRET}"
        )
    step = incident.steps.get(key="smoke-script")
    run = StepRun.objects.create(
        incident=incident,
        step=step,
        attempt=1,
        requested_at=timezone.now(),
        requested_by=backend,
        log_tail=f"{LOG_LINE}\n{SECRET}",
    )
    StepRunLogChunk.objects.create(
        run=run, seq=0, first_line=0, data=f"{LOG_LINE}\n{SECRET}\n".encode()
    )
    return incident, [commander, backend, pm]


def public_text(client: Client) -> str:
    parts = [
        client.get("/status/todo-app/").content.decode(),
        client.get("/status/todo-app/feed.atom").content.decode(),
        client.get("/status/todo-app/summary.json").content.decode(),
    ]
    return "\n".join(parts)


def private_strings(incident, people) -> list[str]:
    strings = [SECRET, LOG_LINE, NOTE, incident.title]
    strings += [p.username for p in people] + ["grace@corp.example"]
    strings += list(incident.steps.values_list("title", flat=True))
    strings += list(incident.timeline.values_list("text", flat=True))
    return [s for s in strings if s]


def test_nothing_but_the_update_is_public(
    todo_page, busy_incident, django_capture_on_commit_callbacks
):
    incident, people = busy_incident
    commander = people[0]
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        publish_update(
            page_slug="todo-app",
            source_incident_id=incident.pk,
            title="Saving tasks fails",
            body="Some changes to tasks are not saved. We are restoring service.",
            status="identified",
            impact="major",
            components={"Task data": "major_outage"},
            author_id=commander.pk,
            idempotency_key="leak-1",
        )
    text = public_text(client)
    assert "Saving tasks fails" in text
    leaked = [s for s in private_strings(incident, people) if s in text]
    assert leaked == []

    # Unless an update says it: then exactly that is public, and still nothing else.
    with django_capture_on_commit_callbacks(execute=True):
        publish_update(
            page_slug="todo-app",
            source_incident_id=incident.pk,
            title="Restoring data",
            body="Now: Restore from backup.",
            status="monitoring",
            impact="minor",
            components={},
            author_id=commander.pk,
            idempotency_key="leak-2",
        )
    text = public_text(client)
    assert "Restore from backup" in text
    leaked = [s for s in private_strings(incident, people) if s in text]
    assert leaked == ["Restore from backup"]
