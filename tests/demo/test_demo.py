from __future__ import annotations

import json
import urllib.request
import uuid
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError

from common.capabilities import COMMANDERS, RESPONDERS, VIEWERS
from demo import seed
from demo.management.commands.demo import Command as DemoCommand
from demo.management.commands.demo import embedded_queues
from demo_target import create_target, drop_target
from demo_target.releases import BAD_TAG, create_repository, deploy
from demo_target.supervisor import SupervisedProcess
from runbooks.executors.base import ExecutorError
from runbooks.executors.http import send
from runbooks.models import RunbookVersion
from tests.common.conftest import URLS
from tests.integration.processes import wait_for

TARGET_ADMIN = "postgres://postgres@127.0.0.1:5432/postgres"

pytestmark = pytest.mark.django_db

EXPECTED_GROUPS = {
    "ic": COMMANDERS,
    "sysadmin": RESPONDERS,
    "backend": RESPONDERS,
    "frontend": RESPONDERS,
    "devops": RESPONDERS,
    "pm": VIEWERS,
}


def demo_accounts() -> dict[str, list[str]]:
    users = User.objects.filter(username__in=EXPECTED_GROUPS).prefetch_related("groups")
    return {u.username: [g.name for g in u.groups.all()] for u in users}


def test_seed_demo_users_creates_accounts_with_known_passwords():
    seed.seed_demo_users()

    assert demo_accounts() == {name: [group] for name, group in EXPECTED_GROUPS.items()}
    for seeded in seed.DEMO_USERS:
        assert User.objects.get(username=seeded.username).check_password(seeded.password)
    assert not User.objects.filter(is_superuser=True).exists()
    assert not User.objects.filter(is_staff=True).exists()


def test_seed_demo_users_is_idempotent_and_resets_changes():
    seed.seed_demo_users()
    ic = User.objects.get(username="ic")
    ic.set_password("changed")
    ic.is_superuser = ic.is_staff = True
    ic.is_active = False
    ic.save()
    ic.groups.clear()
    count = User.objects.count()

    seed.seed_demo_users()

    assert User.objects.count() == count
    assert demo_accounts() == {name: [group] for name, group in EXPECTED_GROUPS.items()}
    ic.refresh_from_db()
    assert ic.check_password("ic-demo")
    assert (ic.is_active, ic.is_staff, ic.is_superuser) == (True, False, False)


def test_format_user_table_lists_every_user_password_and_url():
    table = seed.format_user_table(seed.DEMO_USERS, "http://127.0.0.1:8000/accounts/login/")
    for seeded in seed.DEMO_USERS:
        assert any(
            line.split()[:2] == [seeded.username, seeded.password] for line in table.splitlines()
        )
    assert "http://127.0.0.1:8000/accounts/login/" in table


def test_demo_command_refuses_outside_demo_mode(settings):
    settings.RIPCORD_DEMO = False
    with pytest.raises(CommandError, match="RIPCORD_DEMO"):
        call_command("demo", "--no-serve")
    assert not User.objects.filter(username="ic").exists()


def test_demo_command_rejects_bad_addr(settings):
    settings.RIPCORD_DEMO = True
    with pytest.raises(CommandError, match="host:port"):
        call_command("demo", "--no-serve", "--addr", "localhost:http")


@pytest.mark.urls(URLS)
def test_demo_command_prepares_users_and_prints_table(settings):
    settings.RIPCORD_DEMO = True
    out = StringIO()

    call_command("demo", "--no-serve", "--addr", "0.0.0.0:8123", stdout=out)

    assert demo_accounts() == {name: [group] for name, group in EXPECTED_GROUPS.items()}
    printed = out.getvalue()
    assert "ic-demo" in printed
    assert "pm-demo" in printed
    assert "http://127.0.0.1:8123/accounts/login/" in printed
    assert RunbookVersion.objects.filter(runbook__slug="mig-002").exists()  # runbooks loaded


def test_demo_says_how_to_make_the_demo_target_when_there_is_none(monkeypatch, tmp_path):
    # Embedded mode needs no PostgreSQL: no server there is a hint, not a failure.
    monkeypatch.setenv("TARGET_DATABASE_URL", "postgres://postgres@127.0.0.1:1/todo_demo")
    out = StringIO()

    running = DemoCommand(stdout=out).start_demo_app(0)

    assert running is None
    assert "No demo target database to serve (cannot connect to " in out.getvalue()
    assert "manage.py demo_target create" in out.getvalue()
    monkeypatch.setenv("TARGET_DATABASE_URL", "not a = database url")
    err = StringIO()
    assert DemoCommand(stdout=StringIO(), stderr=err).start_demo_app(0) is None
    assert err.getvalue().startswith(
        "Demo todo application not started: not a PostgreSQL URL or key=value connection string"
    )


def test_demo_serves_the_demo_app_when_the_target_exists(monkeypatch):
    name = f"todo_demo_{uuid.uuid4().hex[:8]}"
    dsn = create_target(TARGET_ADMIN, name, users=100, tasks=100)
    monkeypatch.setenv("TARGET_DATABASE_URL", dsn)
    out = StringIO()
    try:
        running = DemoCommand(stdout=out).start_demo_app(0)
        assert running is not None
        try:
            flags = send(urllib.request.Request(f"{running.url}/api/flags"), timeout=10)
        finally:
            running.stop()
    finally:
        drop_target(TARGET_ADMIN, name)
    assert (flags.status, json.loads(flags.body)) == (200, {"api_v1": False, "uuid_ids": False})
    printed = out.getvalue()
    assert f"Demo todo application for {name} on {running.url}." in printed
    assert f"RIPCORD_ENV_DEMO_APP_URL={running.url}" in printed  # not on MIG-002's port


def test_demo_worker_serves_every_runbook_queue_and_housekeeping(settings):
    settings.RIPCORD_WORKER_QUEUES = []
    call_command("load_runbooks", verbosity=0)  # MIG-002 routes its restore to "database"
    assert embedded_queues() == ["control", "database", "default"]


def test_demo_supervises_the_demo_app_when_a_release_is_deployed(monkeypatch, tmp_path):
    """With `demo_target create`'s release deployed, the app runs under its supervisor."""
    name = f"todo_demo_{uuid.uuid4().hex[:8]}"
    dsn = create_target(TARGET_ADMIN, name, users=10, tasks=10)
    create_repository(tmp_path / "todo-app")
    deploy(tmp_path / "todo-app", tmp_path / "deploy", BAD_TAG)
    monkeypatch.setenv("TARGET_DATABASE_URL", dsn)
    monkeypatch.setenv("TARGET_APP_DEPLOY_DIR", str(tmp_path / "deploy"))
    out = StringIO()
    try:
        running = DemoCommand(stdout=out).start_demo_app(0)
        assert isinstance(running, SupervisedProcess)
        try:
            url = f"{running.url}/version"
            wait_for(lambda: answers(url), timeout=30, what="the supervised demo app")
            reported = json.loads(send(urllib.request.Request(url), timeout=10).body)
            assert (tmp_path / "deploy" / "supervisor.pid").read_text().strip() == str(
                running.process.pid
            )
        finally:
            running.stop()
    finally:
        drop_target(TARGET_ADMIN, name)
    assert reported["version"] == BAD_TAG
    assert f"supervised from {tmp_path / 'deploy'}" in out.getvalue()
    assert not answers(url)  # the application stopped with its supervisor


def answers(url: str) -> bool:
    try:
        return send(urllib.request.Request(url), timeout=2).status == 200
    except ExecutorError:
        return False
