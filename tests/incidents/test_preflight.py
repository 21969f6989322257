"""Pre-flight safeguards of MIG-002 against a real pg_dump backup on disk and the demo app."""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client
from django.urls import reverse

from demo_target import app as demo_app
from demo_target import (
    apply_bad_migration,
    create_target,
    drop_target,
    restore_backup,
    take_backup,
)
from incidents import services
from incidents.models import SafeguardCheck, TimelineEntry
from incidents.services.preflight import run_preflight
from incidents.tasks import run_preflight_task
from tests.factories import make_version
from tests.held_http import serving
from validation.checks.safeguards import backup, flag, marker

ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def pf_target(tmp_path_factory):
    """A small pre-migration target, its backup, and the demo app serving it."""
    name = f"todo_pf_{uuid.uuid4().hex[:8]}"
    dsn = create_target(ADMIN, name, users=20, tasks=60, seed=3)
    path = take_backup(dsn, tmp_path_factory.mktemp("backups") / "pre_migration.backup")
    app = demo_app.start(dsn, port=0)
    yield dsn, path, app.url
    app.stop()
    drop_target(ADMIN, name)


@pytest.fixture
def real_backup(pf_target):
    return pf_target[1]


@pytest.fixture
def app_url(pf_target):
    return pf_target[2]


@pytest.fixture
def demo_env(monkeypatch, pf_target):
    """MIG-002's demo environment pointed at this target, as a worker's overrides do."""
    _, path, url = pf_target
    monkeypatch.setenv("RIPCORD_ENV_DEMO_BACKUP_FILE", str(path))
    monkeypatch.setenv("RIPCORD_ENV_DEMO_PITR_MARKER_FILE", str(path.with_suffix(".pitr")))
    monkeypatch.setenv("RIPCORD_ENV_DEMO_APP_URL", url)
    return pf_target


def test_backup_check_reads_the_archive(real_backup):
    outcome = backup({"file_variable": "B", "verify": "pg_restore_list"}, {"B": str(real_backup)})
    assert outcome.result == "pass" and outcome.evidence["toc_entries"] > 10


def test_backup_check_fails_on_garbage_and_missing_and_old(tmp_path, real_backup):
    junk = tmp_path / "junk.backup"
    junk.write_bytes(b"not a dump")
    assert (
        backup({"file_variable": "B", "verify": "pg_restore_list"}, {"B": str(junk)}).result
        == "fail"
    )
    assert backup({"file_variable": "B"}, {"B": str(tmp_path / "none")}).result == "fail"
    aged = tmp_path / "aged.backup"
    shutil.copy(real_backup, aged)
    os.utime(aged, (0, 0))  # made in 1970
    old = backup({"file_variable": "B", "max_age_hours": 24}, {"B": str(aged)})
    assert old.result == "fail" and "old" in old.summary
    assert backup({"file_variable": "B"}, {}).result == "error"


def test_marker_and_flags_from_a_variable(real_backup):
    assert marker(
        {"file_variable": "M"}, {"M": str(real_backup.with_suffix(".pitr"))}
    ).summary.startswith("marker: lsn ")
    params = {"variable": "F", "flags": ["uuid_ids", "api_v1"], "expect": "off"}
    assert flag(params, {"F": "uuid_ids=off,api_v1=off"}).result == "pass"
    failed = flag(params, {"F": "uuid_ids=on"})
    assert (
        failed.result == "fail" and failed.summary == "flags not off: uuid_ids=on, api_v1=missing"
    )


FLAGS = {"url": "${APP_URL}/api/flags", "flags": ["uuid_ids", "api_v1"], "expect": "off"}


def test_flag_check_reads_the_flags_from_the_app(app_url):
    outcome = flag(FLAGS, {"APP_URL": app_url})
    assert (outcome.result, outcome.summary) == ("pass", "uuid_ids, api_v1 all off")
    assert outcome.evidence == {
        "url": "${APP_URL}/api/flags",  # the template, never the filled URL
        "status": 200,
        "expected": "off",
        "seen": {"uuid_ids": "off", "api_v1": "off"},
    }


def test_flag_check_follows_a_json_path_and_names_missing_flags(app_url):
    nested = flag(
        {**FLAGS, "url": "${APP_URL}/healthz", "json_path": "status"}, {"APP_URL": app_url}
    )
    assert (nested.result, nested.summary) == (
        "error",
        "GET ${APP_URL}/healthz answered no object of flags at status",
    )
    missing = flag({**FLAGS, "flags": ["uuid_ids", "dark_mode"]}, {"APP_URL": app_url})
    assert (missing.result, missing.summary) == ("fail", "flags not off: dark_mode=missing")


def test_flag_check_is_an_error_when_the_app_cannot_say(app_url):
    refused = flag(FLAGS, {"APP_URL": "http://127.0.0.1:1"})
    assert refused.result == "error"
    assert refused.summary.startswith(
        "cannot read the flags from ${APP_URL}/api/flags: http: GET failed: "
    )
    not_found = flag({**FLAGS, "url": "${APP_URL}/flags"}, {"APP_URL": app_url})
    assert (not_found.result, not_found.summary) == (
        "error",
        "GET ${APP_URL}/flags answered HTTP 404: flags unknown",
    )
    unset = flag(FLAGS, {})
    assert unset.result == "error" and "no variable named APP_URL" in unset.summary
    both = flag({**FLAGS, "variable": "F"}, {"APP_URL": app_url, "F": ""})
    assert both.result == "error" and "not both" in both.summary


def test_preflight_records_results_timeline_and_push(
    demo_env, mig002, sent, django_capture_on_commit_callbacks
):
    incident = mig002
    with django_capture_on_commit_callbacks(execute=True):
        rows = run_preflight(incident.pk)
    results = {r.safeguard_id: r.result for r in rows}
    assert results == {
        "full_backup_taken": "pass",
        "backup_verified": "pass",
        "pitr_snapshot": "pass",
        "flags_default_off": "pass",
    }
    assert SafeguardCheck.objects.filter(incident=incident).count() == 4
    entry = TimelineEntry.objects.filter(incident=incident, kind=TimelineEntry.Kind.PREFLIGHT).get()
    assert entry.text == "Pre-flight checks: 4 passed, 0 failed, 0 could not run."
    view = next(m["html"] for g, m in sent if g.endswith(".view"))
    assert f'id="safeguards-{incident.pk}"' in view and "readable:" in view


def test_preflight_flags_fail_on_the_broken_target_and_pass_after_the_restore(
    demo_env, mig002, sent, django_capture_on_commit_callbacks
):
    dsn, backup_file, _ = demo_env
    apply_bad_migration(dsn)  # the rollout switched the flags on with the migration
    try:
        with django_capture_on_commit_callbacks(execute=True):
            broken = {r.safeguard_id: r for r in run_preflight(mig002.pk)}
    finally:
        restore_backup(dsn, backup_file)  # the module's other tests want it pre-migration
    flags = broken["flags_default_off"]
    assert (flags.result, flags.summary) == ("fail", "flags not off: uuid_ids=on, api_v1=on")
    assert flags.evidence["seen"] == {"uuid_ids": "on", "api_v1": "on"}

    # After the restore, pre-flight run again on demand (the task the button enqueues).
    with django_capture_on_commit_callbacks(execute=True):
        run_preflight_task(mig002.pk)
    latest = SafeguardCheck.objects.filter(
        incident=mig002, safeguard_id="flags_default_off"
    ).order_by("-pk")
    assert [row.result for row in latest] == ["pass", "fail"]


SECRET = f"flag-token-{uuid.uuid4().hex[:12]}"
REDACTED = "[secret:FLAGS_TOKEN]"


class TokenEchoHandler(BaseHTTPRequestHandler):
    """A flags endpoint that repeats the token in its URL: as a flag's value, or refusing it;
    ``/listed`` answers its flags inside an array."""

    def log_message(self, format, *args):
        pass

    def do_GET(self):
        token = parse_qs(urlsplit(self.path).query).get("token", [""])[0]
        if self.path.startswith("/listed"):
            status, body = 200, json.dumps({"sets": [{"uuid_ids": False}]}).encode()
        elif self.path.startswith("/denied"):
            status, body = 403, f"token {token} refused\x00".encode()  # a NUL, as bodies may hold
        else:
            status, body = 200, json.dumps({"uuid_ids": token, "api_v1": False}).encode()
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def token_echo() -> Iterator[str]:
    with serving(TokenEchoHandler) as url:
        yield url


def echoing_runbook(app_url: str) -> dict[str, Any]:
    def flag_check(path: str) -> dict[str, Any]:
        url = "${APP_URL}" + path + "?token=${FLAGS_TOKEN}"
        return {"kind": "flag", "params": {"url": url, "flags": ["uuid_ids"], "expect": "off"}}

    return {
        "id": "echoing-flags",
        "title": "A flags endpoint that echoes its token",
        "roles": [{"id": "system_administrator", "title": "System administrator"}],
        "environments": [
            {
                "id": "lab",
                "title": "Lab",
                "variables": {"APP_URL": app_url},
                "secrets": {"FLAGS_TOKEN": {"env": "RIPCORD_TEST_FLAGS_TOKEN"}},
            }
        ],
        "phases": [
            {
                "id": "only",
                "title": "Only",
                "starts_at_minutes": 0,
                "ends_at_minutes": 30,
                "steps": [{"id": "look", "title": "Look", "owner": "system_administrator"}],
            }
        ],
        "safeguards": [
            {
                "id": "flag_seen",
                "category": "flags",
                "title": "Seen",
                "check": flag_check("/flags"),
            },
            {
                "id": "flag_denied",
                "category": "flags",
                "title": "Denied",
                "check": flag_check("/denied"),
            },
        ],
    }


def test_preflight_never_stores_or_shows_a_secret_the_flags_endpoint_echoes(
    token_echo, ic, monkeypatch, sent, django_capture_on_commit_callbacks
):
    monkeypatch.setenv("RIPCORD_TEST_FLAGS_TOKEN", SECRET)
    incident = services.open_incident(
        version=make_version(echoing_runbook(token_echo)),
        environment="lab",
        title="Echoing flags",
        severity="sev2",
        is_drill=True,
        opened_by=ic,
    )
    with django_capture_on_commit_callbacks(execute=True):
        run_preflight(incident.pk)

    stored = {row.safeguard_id: row for row in SafeguardCheck.objects.filter(incident=incident)}
    seen, denied = stored["flag_seen"], stored["flag_denied"]
    # The checks really met the secret: each says where, redacted.
    assert (seen.result, seen.summary) == ("fail", f"flags not off: uuid_ids={REDACTED}")
    assert seen.evidence["seen"] == {"uuid_ids": REDACTED}
    assert denied.result == "error"
    # Read back from jsonb: the NUL the body ended with is stored as U+FFFD.
    assert denied.evidence["body_excerpt"] == f"token {REDACTED} refused\ufffd"
    rows = json.dumps(list(SafeguardCheck.objects.filter(incident=incident).values()), default=str)
    page = Client()
    page.force_login(ic)
    html = page.get(reverse("incidents:detail", args=[incident.pk])).content.decode()
    pushed = json.dumps(sent)
    assert REDACTED in html and REDACTED in pushed
    assert [
        where
        for where, text in [("rows", rows), ("page", html), ("pushes", pushed)]
        if SECRET in text
    ] == []


def test_flag_check_json_path_enters_arrays_as_expect_json_does(token_echo):
    params = {"url": "${APP_URL}/listed", "json_path": "sets.0", "flags": ["uuid_ids"]}
    outcome = flag(params, {"APP_URL": token_echo})
    assert (outcome.result, outcome.summary) == ("pass", "uuid_ids all off")
    nowhere = flag({**params, "json_path": "sets.1"}, {"APP_URL": token_echo})
    assert (nowhere.result, nowhere.summary) == (
        "error",
        "GET ${APP_URL}/listed answered no object of flags at sets.1",
    )
