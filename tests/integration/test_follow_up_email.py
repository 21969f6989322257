"""An overdue follow-up reminds its assignee by email: a real control worker, a real SMTP server.

The reminder task goes to the control queue (on a broker prefix of this module's own, so
no other control worker takes it); the worker sends through aiosmtpd in this process; a
second sweep the same day sends nothing more.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.utils import timezone

from common.capabilities import COMMANDERS, RESPONDERS
from incidents import services
from incidents.models import FollowUp
from incidents.tasks import remind_follow_ups_task
from tests.drills.gated import gated_spec
from tests.factories import make_user, make_version
from tests.integration.conftest import ARTIFACTS
from tests.integration.processes import BROKER_URL, RUN_ID, sending_to, start_worker, wait_for
from tests.integration.statuspage_peers import SmtpServer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]

PREFIX = f"ripcord-test-{RUN_ID}-followups:"


@pytest.fixture(scope="module")
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer() as server:
        yield server


@pytest.fixture(scope="module")
def mail_worker(smtp, django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worker = start_worker(
            ARTIFACTS,
            queues="control",
            RIPCORD_BROKER_PREFIX=PREFIX,
            EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            EMAIL_HOST="127.0.0.1",
            EMAIL_PORT=str(smtp.port),
            DEFAULT_FROM_EMAIL="ripcord@todoapp.example",
        )
    try:
        with sending_to(BROKER_URL, PREFIX):
            yield worker
    finally:
        worker.stop()


@pytest.mark.django_db(transaction=True)
def test_an_overdue_follow_up_reaches_its_assignee_by_smtp_once(smtp, mail_worker):
    ic = make_user("ic", COMMANDERS)
    backend = make_user("backend", RESPONDERS)
    backend.email = "backend@todoapp.example"
    backend.save(update_fields=["email"])
    spec = gated_spec()
    spec["post_actions"] = [
        {"id": "rca", "title": "Root cause analysis", "owner": "incident_commander"}
    ]
    incident = services.open_incident(
        version=make_version(spec), environment="staging", title="Drill", severity="sev2",
        is_drill=True, opened_by=ic,
    )  # fmt: skip
    FollowUp.objects.filter(incident=incident).update(
        assignee=backend, due_on=timezone.localdate() - timedelta(days=3)
    )
    before = smtp.inbox.count()

    remind_follow_ups_task.delay()
    wait_for(lambda: smtp.inbox.count() > before, timeout=60, what="the reminder email")
    message = smtp.inbox.messages[before]
    assert message["To"] == "backend@todoapp.example"
    assert message["Subject"] == "Overdue follow-up: Root cause analysis"
    assert "3 days ago" in message.get_content()
    assert FollowUp.objects.get(incident=incident).reminded_on == timezone.localdate()

    # The same day, a newer overdue one: it alone is sent. (The sweep goes oldest due
    # first, so a second copy of the first would have arrived before it.)
    FollowUp.objects.create(
        incident=incident, key="docs", title="Update the docs", owner_role="incident_commander",
        position=9, assignee=backend, due_on=timezone.localdate() - timedelta(days=1),
    )  # fmt: skip
    remind_follow_ups_task.delay()
    wait_for(lambda: smtp.inbox.count() > before + 1, timeout=60, what="the second email")
    assert [m["Subject"] for m in smtp.inbox.messages[before:]] == [
        "Overdue follow-up: Root cause analysis",
        "Overdue follow-up: Update the docs",
    ]
