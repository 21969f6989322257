"""The ASGI server keeps no database connection per HTTP request (bench/README.md).

Each request's sync code runs on a thread that ends with the request; a persistent
connection left on it stayed open until a garbage collection, one per request, until
PostgreSQL refused clients.
"""

from __future__ import annotations

import urllib.request

import pytest
from django.db import connection

from common.capabilities import VIEWERS
from common.tokens import create_token
from tests.factories import make_user

pytestmark = [pytest.mark.integration, pytest.mark.django_db(transaction=True)]

REQUESTS = 15


def other_sessions_on_this_database() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        row = cursor.fetchone()
    return int(row[0]) if row else 0


def test_api_requests_leave_no_database_connection_behind(asgi_server):
    _, raw = create_token(make_user("pm", VIEWERS), "connections")
    before = other_sessions_on_this_database()
    for _ in range(REQUESTS):
        request = urllib.request.Request(
            asgi_server.url + "/api/v1/incidents", headers={"Authorization": f"Bearer {raw}"}
        )
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
    # Leaking, this was one more session per request (REQUESTS more).
    assert other_sessions_on_this_database() - before <= 1
