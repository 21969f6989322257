from __future__ import annotations

import pytest

from incidents import services


@pytest.fixture
def enqueued_deliveries(monkeypatch) -> list[int]:
    """Deliveries handed to the worker (by id), instead of a broker."""
    from incidents import dispatch

    sent: list[int] = []

    def record(name, *args, on_failure=None, **options):
        assert name == "comms.tasks.deliver_task"
        assert options["queue"] == "control"
        sent.append(args[0])

    monkeypatch.setattr(dispatch, "send_on_commit", record)
    return sent


@pytest.fixture
def pm_incident(mig002, ic, viewer, django_capture_on_commit_callbacks):
    """MIG-002 in its demo environment, the PM (a viewer) holding product_manager."""
    with django_capture_on_commit_callbacks(execute=False):
        services.assign_role(
            incident_id=mig002.pk, role_key="product_manager", user_id=viewer.pk, by=ic
        )
    mig002.refresh_from_db()
    return mig002
