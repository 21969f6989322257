from __future__ import annotations

import io
import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from demo_target.pg import with_dbname
from demo_target.releases import BAD_TAG, GOOD_TAG, tags
from runbooks.executors.base import ExecutorError
from runbooks.executors.http import send
from tests.demo_target.conftest import ADMIN_DSN
from tests.integration.processes import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def target_env(monkeypatch, new_db_name, tmp_path):
    dsn = with_dbname(ADMIN_DSN, new_db_name())
    monkeypatch.setenv("TARGET_DATABASE_URL", dsn)
    monkeypatch.setenv("TARGET_ADMIN_DATABASE_URL", ADMIN_DSN)
    monkeypatch.setenv("TARGET_BACKUP_FILE", str(tmp_path / "pre_migration.backup"))
    monkeypatch.setenv("TARGET_APP_REPO_DIR", str(tmp_path / "todo-app"))
    monkeypatch.setenv("TARGET_APP_DEPLOY_DIR", str(tmp_path / "todo-app-deploy"))
    return tmp_path


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("demo_target", *args, stdout=out)
    return out.getvalue()


def test_create_builds_backs_up_and_breaks_the_target(target_env):
    output = run("create", "--users=200", "--tasks=1200")

    assert "Fingerprint before the migration:" in output
    assert "id_types.users: integer -> uuid" in output
    assert (target_env / "pre_migration.backup").is_file()
    snapshot = json.loads((target_env / "pre_migration.fingerprint.json").read_text())
    assert snapshot["tables"]["users"] == 200
    report = json.loads(run("fingerprint"))
    assert report["fingerprint"]["id_types"]["users"] == "uuid"
    assert report["matches_snapshot"] is False


def test_restore_brings_back_the_snapshot(target_env):
    run("create", "--users=200", "--tasks=1200")

    output = run("restore")

    assert "matches the pre-migration snapshot" in output
    report = json.loads(run("fingerprint"))
    assert report["matches_snapshot"] is True
    assert report["sequences"]["user_id_seq"]["is_past_max"]


def test_commands_say_postgres_is_needed_when_it_is_unreachable(monkeypatch, tmp_path):
    monkeypatch.setenv("TARGET_DATABASE_URL", "postgres://postgres@127.0.0.1:1/todo_demo")
    monkeypatch.delenv("TARGET_ADMIN_DATABASE_URL", raising=False)
    monkeypatch.setenv("TARGET_BACKUP_FILE", str(tmp_path / "pre_migration.backup"))

    for action in ("fingerprint", "restore", "create"):
        with pytest.raises(CommandError, match="needs PostgreSQL") as caught:
            run(action, *(["--users=10", "--tasks=10"] if action == "create" else []))
        assert "Embedded mode without PostgreSQL cannot roll it back" in str(caught.value)


@pytest.mark.parametrize("admin", [None, ADMIN_DSN])
def test_commands_say_clearly_when_the_target_url_cannot_be_parsed(monkeypatch, tmp_path, admin):
    monkeypatch.setenv("TARGET_DATABASE_URL", "not a = url")
    if admin is None:  # the admin DSN is then derived from the target's: parsed at once
        monkeypatch.delenv("TARGET_ADMIN_DATABASE_URL", raising=False)
    else:
        monkeypatch.setenv("TARGET_ADMIN_DATABASE_URL", admin)
    monkeypatch.setenv("TARGET_BACKUP_FILE", str(tmp_path / "pre_migration.backup"))

    with pytest.raises(CommandError) as caught:
        run("fingerprint")
    assert str(caught.value) == (
        "not a PostgreSQL URL or key=value connection string:"
        ' missing "=" after "not" in connection info string'
    )


def test_restore_without_a_backup_says_so(target_env):
    run("create", "--users=10", "--tasks=10")
    (target_env / "pre_migration.backup").unlink()

    with pytest.raises(CommandError, match="no backup"):
        run("restore")


def test_serve_runs_the_app_in_the_foreground_until_interrupted(target_env):
    run("create", "--users=100", "--tasks=100")
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "demo_target", "serve", f"--port={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: healthz(port) == 200, timeout=30, what="the demo app to answer")
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"on http://127.0.0.1:{port} (Ctrl-C stops it)" in out


def test_create_makes_the_release_repository_and_deploys_the_bad_release(target_env):
    output = run("create", "--users=10", "--tasks=10")

    assert f"Deployed {BAD_TAG}" in output
    assert tags(target_env / "todo-app") == [GOOD_TAG, BAD_TAG]
    assert os.readlink(target_env / "todo-app-deploy" / "current") == f"releases/{BAD_TAG}"


def test_serve_supervises_the_deployed_release_and_restarts_it_on_sighup(target_env):
    run("create", "--users=10", "--tasks=10")
    port = free_port()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"}
    server = subprocess.Popen(
        [sys.executable, "manage.py", "demo_target", "serve", f"--port={port}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for(lambda: version(port) is not None, timeout=30, what="the demo app to answer")
        first = version(port)
        assert first and first["version"] == BAD_TAG
        pid_file = target_env / "todo-app-deploy" / "supervisor.pid"
        assert int(pid_file.read_text()) == server.pid
        os.kill(server.pid, signal.SIGHUP)
        wait_for(
            lambda: (version(port) or first)["pid"] != first["pid"],
            timeout=30,
            what="a new application process",
        )
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        out, err = server.communicate(timeout=30)
    assert server.returncode == 0, err
    assert f"release {BAD_TAG} supervised from" in out
    assert not pid_file.exists()
    assert version(port) is None  # the application stopped with its supervisor


def version(port: int) -> dict[str, Any] | None:
    try:
        answer = send(urllib.request.Request(f"http://127.0.0.1:{port}/version"), timeout=2)
    except ExecutorError:
        return None
    document: dict[str, Any] = json.loads(answer.body)
    return document


def test_serve_says_when_the_port_is_taken(target_env):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(CommandError, match=r"cannot listen on 127\.0\.0\.1:"):
            run("serve", f"--port={taken.getsockname()[1]}")


def healthz(port: int) -> int | None:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz")
    try:
        return send(request, timeout=2).status
    except ExecutorError:  # not listening yet
        return None
