"""A stored runbook declaring PATH or LD_PRELOAD, overridden on the worker, still cannot reach a step.

``check_runbook`` refuses such names now, but versions loaded before stay in the
database, and ``RIPCORD_ENV_<ENV>_<NAME>`` overrides any variable a version declares.
"""

from __future__ import annotations

import pytest

from incidents.environment import resolve_for_incident
from runbooks.executors import Execution
from runbooks.executors.shell import BASE_PATH, ShellExecutor
from tests.incidents.conftest import one_step_incident

pytestmark = pytest.mark.django_db


def test_worker_override_of_a_reserved_variable_never_reaches_a_shell_step(tmp_path):
    command = {"argv": ["/usr/bin/env"], "env": ["PATH", "LD_PRELOAD", "BASH_ENV", "PGHOST"]}
    incident, _ = one_step_incident(
        {"title": "Show env", "kind": "shell", "command": command},
        variables={"PATH": "/usr/bin", "LD_PRELOAD": "", "BASH_ENV": "", "PGHOST": "db"},
    )
    worker_env = {
        "RIPCORD_ENV_LAB_PATH": str(tmp_path / "evil-bin"),
        "RIPCORD_ENV_LAB_LD_PRELOAD": str(tmp_path / "evil.so"),
        "RIPCORD_ENV_LAB_BASH_ENV": str(tmp_path / "evil.sh"),
    }
    resolved = resolve_for_incident(incident, worker_env)
    assert resolved.env["PATH"] == str(tmp_path / "evil-bin")  # the override did apply...
    lines: list[bytes] = []

    ShellExecutor().run(
        Execution(
            run_id=1,
            command=command,
            env=resolved.env,
            workdir=tmp_path / "run",
            timeout_seconds=30,
        ),
        emit=lines.append,
        should_stop=lambda: False,
    )

    output = b"".join(lines).decode().splitlines()
    seen = dict(line.split("=", 1) for line in output if "=" in line)  # not ld.so's complaints
    assert seen["PATH"] == BASE_PATH  # ...but the step never sees it
    assert seen["PGHOST"] == "db"
    assert not {"LD_PRELOAD", "BASH_ENV"} & set(seen)
