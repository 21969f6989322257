"""What a step needs, checked before it runs: real PostgreSQL, real client tools, a real socket."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from incidents.execution.needs import check_needs
from runbooks.executors.base import ExecutorError
from tests.executors.conftest import closed_port

SERVER = "postgres://postgres@127.0.0.1:5432/postgres"


def tools_dir(path: Path, *names: str) -> str:
    """A PATH holding only these (do-nothing) programs."""
    path.mkdir(exist_ok=True)
    for name in names:
        program = path / name
        program.write_text("#!/bin/sh\nexit 0\n")
        program.chmod(program.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_check_needs_passes_with_the_client_tools_and_a_reachable_target():
    check_needs(["postgresql"], {"TARGET_DATABASE_URL": SERVER}, kind="shell")


def test_check_needs_passes_with_a_target_given_as_libpq_variables():
    env = {"PGHOST": "127.0.0.1", "PGPORT": "5432", "PGUSER": "postgres", "PGDATABASE": "postgres"}
    check_needs(["postgresql"], env, kind="shell")


def test_check_needs_names_the_missing_client_tool(tmp_path):
    only_psql = tools_dir(tmp_path / "bin", "psql")
    with pytest.raises(ExecutorError) as raised:
        check_needs(
            ["postgresql"], {"TARGET_DATABASE_URL": SERVER}, kind="shell", tools_path=only_psql
        )
    assert str(raised.value).startswith(
        "This step needs the PostgreSQL client tools: pg_restore is not installed on this worker."
    )


def test_check_needs_names_every_missing_client_tool(tmp_path):
    with pytest.raises(ExecutorError, match="psql and pg_restore are not installed"):
        check_needs(
            ["postgresql"],
            {"TARGET_DATABASE_URL": SERVER},
            kind="shell",
            tools_path=tools_dir(tmp_path / "empty"),
        )


def test_check_needs_passes_when_both_tools_are_present(tmp_path):
    both = tools_dir(tmp_path / "bin", "psql", "pg_restore")
    check_needs(["postgresql"], {"TARGET_DATABASE_URL": SERVER}, kind="shell", tools_path=both)


def test_check_needs_asks_no_client_tools_of_an_sql_step(tmp_path):
    empty = tools_dir(tmp_path / "empty")
    check_needs(["postgresql"], {"TARGET_DATABASE_URL": SERVER}, kind="sql", tools_path=empty)


def test_check_needs_names_an_unreachable_target_without_its_password():
    port = closed_port()
    dsn = f"postgres://restorer:pw-in-url@127.0.0.1:{port}/todo"
    with pytest.raises(ExecutorError) as raised:
        check_needs(["postgresql"], {"TARGET_DATABASE_URL": dsn}, kind="sql")
    message = str(raised.value)
    assert message.startswith(
        f"This step needs a PostgreSQL target: no PostgreSQL answered at 127.0.0.1:{port}/todo ("
    )
    assert "RIPCORD_ENV_<ENVIRONMENT>_TARGET_DATABASE_URL" in message
    assert "pw-in-url" not in message


def test_check_needs_names_an_unreachable_libpq_host():
    port = closed_port()
    with pytest.raises(ExecutorError, match=f"no PostgreSQL answered at 127.0.0.1:{port} "):
        check_needs(["postgresql"], {"PGHOST": "127.0.0.1", "PGPORT": str(port)}, kind="shell")


def test_check_needs_names_a_missing_target():
    with pytest.raises(ExecutorError, match="names no PostgreSQL target"):
        check_needs(["postgresql"], {"PGDATABASE": "todo"}, kind="sql")


def test_check_needs_without_needs_checks_nothing(tmp_path):
    check_needs([], {}, kind="shell", tools_path=tools_dir(tmp_path / "empty"))


def test_check_needs_names_a_missing_docker_engine(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-docker.sock'}")
    monkeypatch.delenv("DOCKER_TLS_VERIFY", raising=False)
    with pytest.raises(
        ExecutorError, match=r"^This step needs a Docker engine: no engine answered"
    ):
        check_needs(["docker"], {}, kind="docker")


def test_check_needs_checks_each_need_in_turn(monkeypatch, tmp_path):
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path / 'no-docker.sock'}")
    # PostgreSQL is there, so the missing Docker engine is what is named.
    with pytest.raises(ExecutorError, match="Docker engine"):
        check_needs(["postgresql", "docker"], {"TARGET_DATABASE_URL": SERVER}, kind="shell")
