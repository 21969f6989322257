"""Fixtures that start real processes: the ASGI server and a Celery worker."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.integration.processes import ROOT, start_server, start_worker

ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, django_db_blocker):
    """uvicorn serving config.asgi on the test database with the Redis channel layer."""
    with django_db_blocker.unblock():
        server = start_server(ARTIFACTS)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        worker = start_worker(ARTIFACTS, RIPCORD_RUN_LEASE_SECONDS="3")
    yield worker
    worker.stop()


@pytest.fixture
def session_cookie(transactional_db):
    """A signed-in session for ``user`` (no password round trip), as a cookie dict."""

    def make(user, url: str) -> dict[str, str]:
        client = Client()
        client.force_login(user)
        return {"name": "sessionid", "value": client.cookies["sessionid"].value, "url": url}

    return make
