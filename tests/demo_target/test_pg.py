from __future__ import annotations

import pytest

from common.dsn import redact
from demo_target.pg import TargetUnavailable, connect, tool_connection


def test_tool_connection_keeps_the_password_out_of_argv():
    conninfo, env = tool_connection("postgres://todo:s3cret@db.internal:5433/todo_db")

    assert "s3cret" not in conninfo
    assert "dbname=todo_db" in conninfo
    assert env["PGPASSWORD"] == "s3cret"


def test_redact_drops_the_password():
    assert "s3cret" not in redact("postgres://todo:s3cret@db.internal/todo_db")


def test_connect_reports_an_unreachable_server():
    with pytest.raises(TargetUnavailable, match="cannot connect to"):
        connect("postgres://postgres@127.0.0.1:1/todo_demo")
