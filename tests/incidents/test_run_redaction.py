"""A run never leaks a secret: not through its summary, evidence, errors, timeline or pushes.

Real executors against real targets: an HTTP server that echoes the token it is
sent, and a PostgreSQL table holding the same token. The runs are executed by the
real runner, committed (transactional tests), then everything a person could see
or the database holds is searched for the secret.
"""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from incidents import services
from incidents.execution import runner
from incidents.models import Incident, StepRun, TimelineEntry
from incidents.redaction import Redactor
from incidents.services import runs
from runbooks.executors.base import Outcome
from tests.api.conftest import BASE, make_token
from tests.factories import make_user, make_version
from tests.held_http import serving

committed = pytest.mark.django_db(transaction=True)

SECRET = f"hunter22-{uuid.uuid4().hex[:12]}"
SECRET_ENV = "RIPCORD_TEST_API_TOKEN"
REDACTED = "[secret:API_TOKEN]"


class EchoHandler(BaseHTTPRequestHandler):
    """Answers every GET with the X-Token it was sent, in a JSON field and in prose."""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        token = self.headers.get("X-Token", "")
        body = json.dumps({"token": token, "note": f"you sent {token}"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def echo_server() -> Iterator[str]:
    with serving(EchoHandler) as url:
        yield url


def _server_dsn(dbname: str) -> str:
    db = connection.settings_dict
    return f"postgres://{db.get('USER') or 'postgres'}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{dbname}"


@pytest.fixture
def token_db() -> Iterator[str]:
    """A scratch database (named after this run's test database) whose table holds the secret."""
    name = f"{connection.settings_dict['NAME']}_tokens"
    admin = _server_dsn("postgres")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    dsn = _server_dsn(name)
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute("CREATE TABLE probe (token text NOT NULL)")
        conn.execute("INSERT INTO probe VALUES (%s)", [SECRET])
    yield dsn
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def leaky_runbook(api_url: str, target_dsn: str) -> dict[str, Any]:
    owner = "system_administrator"
    steps = [
        {
            "id": "echo",
            "title": "Ask the flags service",
            "owner": owner,
            "kind": "http",
            "command": {
                "method": "GET",
                "url": "${API_URL}/echo",
                "headers": {"X-Token": "${API_TOKEN}"},
                "expect_json": {"token": "the-right-one"},
            },
        },
        {
            "id": "select",
            "title": "Read the stored token",
            "owner": owner,
            "kind": "sql",
            "command": {"query": "SELECT token FROM probe", "expect": {"scalar": "the-right-one"}},
        },
        {
            "id": "cast",
            "title": "Count the token",
            "owner": owner,
            "kind": "sql",
            "command": {"query": "SELECT token::int FROM probe"},
        },
    ]
    return {
        "id": "leaky",
        "title": "Targets that echo secrets",
        "roles": [{"id": owner, "title": "System administrator"}],
        "environments": [
            {
                "id": "lab",
                "title": "Lab",
                "variables": {"API_URL": api_url, "TARGET_DATABASE_URL": target_dsn},
                "secrets": {"API_TOKEN": {"env": SECRET_ENV}},
            }
        ],
        "phases": [
            {
                "id": "only",
                "title": "Only",
                "starts_at_minutes": 0,
                "ends_at_minutes": 30,
                "steps": steps,
            }
        ],
    }


@pytest.fixture
def people():
    return {
        "ic": make_user("ic", COMMANDERS),
        "sysadmin": make_user("sysadmin", RESPONDERS),
        "pm": make_user("pm", VIEWERS),
    }


@pytest.fixture
def leaky_incident(echo_server, token_db, people, enqueued, monkeypatch) -> Incident:
    monkeypatch.setenv(SECRET_ENV, SECRET)
    version = make_version(leaky_runbook(echo_server, token_db))
    incident = services.open_incident(
        version=version,
        environment="lab",
        title="Secrets everywhere",
        severity="sev2",
        is_drill=True,
        opened_by=people["ic"],
    )
    services.assign_role(
        incident_id=incident.pk,
        role_key="system_administrator",
        user_id=people["sysadmin"].pk,
        by=people["ic"],
    )
    return incident


def run_step(incident: Incident, key: str, by) -> StepRun:
    run = runs.request_run(step_id=incident.steps.get(key=key).pk, by=by)
    runner.execute_run(run.pk)
    return StepRun.objects.get(pk=run.pk)


def everything_seen(incident: Incident, people) -> dict[str, str]:
    """What each place shows or holds, as text, by place."""
    seen: dict[str, str] = {}
    for row in StepRun.objects.filter(incident=incident).values():
        seen[f"step run {row['id']}"] = json.dumps(row, default=str)
    for entry in TimelineEntry.objects.filter(incident=incident).values():
        seen[f"timeline entry {entry['id']}"] = json.dumps(entry, default=str)
    for who in ("sysadmin", "pm"):
        user = people[who]
        headers = {"Authorization": f"Bearer {make_token(user)}"}
        api = Client()
        paths = [f"/incidents/{incident.pk}", f"/incidents/{incident.pk}/timeline"]
        paths += [
            f"/incidents/{incident.pk}/runs/{pk}"
            for pk in incident.runs.values_list("pk", flat=True)
        ]
        for path in paths:
            response = api.get(BASE + path, headers=headers)
            assert response.status_code == 200, (who, path, response.content[:300])
            seen[f"API {path} as {who}"] = response.content.decode()
        page = Client()
        page.force_login(user)
        response = page.get(reverse("incidents:detail", args=[incident.pk]))
        assert response.status_code == 200
        seen[f"incident page as {who}"] = response.content.decode()
    return seen


@committed
def test_run_outcomes_never_store_or_show_the_secret(leaky_incident, people, sent):
    sysadmin = people["sysadmin"]

    echoed = run_step(leaky_incident, "echo", sysadmin)
    selected = run_step(leaky_incident, "select", sysadmin)
    cast = run_step(leaky_incident, "cast", sysadmin)

    # The steps really met the secret: each says where, redacted.
    assert echoed.status == StepRun.Status.FAILED
    assert echoed.summary == f"HTTP 200, json token was {REDACTED!r}, expected 'the-right-one'"
    assert REDACTED in echoed.evidence["body_excerpt"]
    assert selected.summary == f"expected scalar 'the-right-one', saw {REDACTED!r} (rolled back)"
    assert selected.evidence["seen"]["first_rows"] == [[REDACTED]]
    assert cast.status == StepRun.Status.FAILED and REDACTED in cast.summary, cast.summary
    assert REDACTED in cast.evidence["error"]

    seen = everything_seen(leaky_incident, people)
    assert any(REDACTED in text for place, text in seen.items() if place.startswith("timeline"))
    assert any(REDACTED in text for place, text in seen.items() if "as pm" in place)
    leaks = [place for place, text in seen.items() if SECRET in text]
    assert leaks == []
    pushed = [html for _group, message in sent for html in [message["html"]]]
    assert any(REDACTED in html for html in pushed)
    assert not [html for html in pushed if SECRET in html]


@committed
def test_run_outcomes_leave_no_secret_anywhere_in_the_database(leaky_incident, people):
    for key in ("echo", "select", "cast"):
        run_step(leaky_incident, key, people["sysadmin"])
    dump = subprocess.run(
        ["pg_dump", "--data-only", "--dbname", _server_dsn(connection.settings_dict["NAME"])],
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout
    assert REDACTED.encode() in dump
    assert SECRET.encode() not in dump


def test_outcome_redaction_reaches_every_string_key_and_number_of_the_evidence():
    redact = Redactor({"PIN": "482913", "API_TOKEN": SECRET})
    outcome = Outcome(
        False,
        exit_code=2,
        summary=f"saw {SECRET}",
        evidence={
            SECRET: "as a key",
            "rows": [[1, 482913, f"x{SECRET}y"], (True, None, 4.5)],
            "nested": {"deep": [{"error": f"bad token {SECRET}"}]},
        },
    )
    clean = redact.outcome(outcome)
    assert (clean.succeeded, clean.exit_code) == (False, 2)
    assert clean.summary == f"saw {REDACTED}"
    assert clean.evidence == {
        REDACTED: "as a key",
        "rows": [[1, "[secret:PIN]", f"x{REDACTED}y"], [True, None, 4.5]],
        "nested": {"deep": [{"error": f"bad token {REDACTED}"}]},
    }
