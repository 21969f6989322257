"""Shell executor against real processes: env as data, streaming, and killing the whole group."""

from __future__ import annotations

import os
import stat
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from runbooks.executors import (
    Execution,
    ExecutorError,
    Outcome,
    StepCancelled,
    StepTimedOut,
    sessions,
)
from runbooks.executors.sessions import INSTANCE_MARKER, RUN_MARKER
from runbooks.executors.shell import ShellExecutor
from tests.executors.conftest import Lines, never

executor = ShellExecutor()

# A script that puts two children in the background, reports its session id ($$: it leads
# its own session) once they exist, then waits for them forever.
BACKGROUND_CHILDREN = 'sleep 300 & sleep 300 & echo "$$"; echo ready; wait\n'


def live_processes_of(sid: int) -> list[int]:
    """Live processes whose session or process group is ``sid``, read from /proc directly."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        state, pgrp, session = fields[0], int(fields[2]), int(fields[3])
        if state not in ("Z", "X") and sid in (pgrp, session):
            found.append(int(entry.name))
    return found


def wait_until_gone(sid: int, seconds: float) -> list[int]:
    deadline = time.monotonic() + seconds
    while (left := live_processes_of(sid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_shell_runs_argv_and_records_exit_zero(make_execution):
    lines = Lines()
    outcome = executor.run(
        make_execution({"argv": ["/bin/echo", "hello", "world"]}), emit=lines, should_stop=never
    )
    assert lines == ["hello world"]
    assert (outcome.succeeded, outcome.exit_code, outcome.summary) == (True, 0, "exit 0")


def test_shell_reports_nonzero_exit_as_failure(make_execution):
    lines = Lines()
    outcome = executor.run(
        make_execution({"argv": ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]}),
        emit=lines,
        should_stop=never,
    )
    assert lines == ["out", "err"]  # stderr is merged into the same stream
    assert (outcome.succeeded, outcome.exit_code, outcome.summary) == (False, 3, "exit 3")


def test_shell_runs_shipped_script_with_args_from_the_workdir(make_execution):
    execution = make_execution(
        {"script": "scripts/restore.sh", "args": ["--dry-run", "a b"]},
        files={
            "scripts/restore.sh": 'echo "args: $1|$2"; echo "cwd: $PWD"; . scripts/lib.sh\n',
            "scripts/lib.sh": "echo from lib; exit 4\n",
        },
    )
    lines = Lines()
    outcome = executor.run(execution, emit=lines, should_stop=never)
    assert lines == ["args: --dry-run|a b", f"cwd: {execution.workdir}", "from lib"]
    assert (outcome.exit_code, outcome.succeeded) == (4, False)
    script = execution.workdir / "scripts" / "restore.sh"
    assert stat.S_IMODE(script.stat().st_mode) == 0o700


def test_shell_passes_variables_and_nothing_of_the_worker_environment(make_execution, monkeypatch):
    monkeypatch.setenv("RIPCORD_WORKER_SECRET", "must-not-leak")
    execution = make_execution({"argv": ["/usr/bin/env"]}, env={"GREETING": "hi there"})
    lines = Lines()
    executor.run(execution, emit=lines, should_stop=never)
    seen = dict(line.split("=", 1) for line in lines)
    assert set(seen) == {"PATH", "HOME", "LANG", "GREETING", RUN_MARKER, INSTANCE_MARKER}
    assert seen["GREETING"] == "hi there"
    assert seen["HOME"] == str(execution.workdir)
    assert seen["LANG"] == "C.UTF-8"


def test_shell_passes_only_listed_variables_when_step_names_them(make_execution):
    env = {"PGHOST": "db", "PGPASSWORD": "s3cret", "OTHER_SECRET": "x", "RIPCORD_RUN_ID": "7"}
    execution = make_execution({"argv": ["/usr/bin/env"], "env": ["PGHOST", "PGPASSWORD"]}, env=env)
    lines = Lines()
    executor.run(execution, emit=lines, should_stop=never)
    seen = dict(line.split("=", 1) for line in lines)
    assert set(seen) == {"PATH", "HOME", "LANG", "PGHOST", "PGPASSWORD", "RIPCORD_RUN_ID"} | {
        RUN_MARKER,
        INSTANCE_MARKER,
    }


RESERVED = {
    "PATH": "/tmp/evil-bin",
    "HOME": "/root",
    "LD_PRELOAD": "/tmp/evil.so",
    "BASH_ENV": "/tmp/evil.sh",
    "SHELLOPTS": "xtrace",
    "PS4": "$(touch /tmp/pwned)",
    "PYTHONPATH": "/tmp/evil-py",
}


@pytest.mark.parametrize("listed", [False, True])
def test_shell_never_passes_reserved_variables_of_a_stored_runbook(make_execution, listed):
    # A runbook loaded before these names were refused may still declare them (and list them).
    command: dict[str, object] = {"argv": ["/usr/bin/env"]}
    if listed:
        command["env"] = [*RESERVED, "GREETING"]
    execution = make_execution(command, env={**RESERVED, "GREETING": "hi"})
    lines = Lines()
    executor.run(execution, emit=lines, should_stop=never)
    seen = dict(line.split("=", 1) for line in lines if "=" in line)  # not ld.so's complaints
    assert set(seen) == {"PATH", "HOME", "LANG", "GREETING", RUN_MARKER, INSTANCE_MARKER}
    assert seen["PATH"] == "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    assert seen["HOME"] == str(execution.workdir)


def test_shell_marks_the_step_and_its_children_with_run_and_instance(make_execution):
    # A runbook variable of the same name cannot unmark the step.
    execution = make_execution(
        {"argv": ["/bin/bash", "-c", "sh -c /usr/bin/env"]},
        run_id=4242,
        instance="ripcord@db:5432",
        env={RUN_MARKER: "1"},
    )
    lines = Lines()
    executor.run(execution, emit=lines, should_stop=never)
    seen = dict(line.split("=", 1) for line in lines)
    assert (seen[RUN_MARKER], seen[INSTANCE_MARKER]) == ("4242", "ripcord@db:5432")


def test_shell_runs_in_the_workdir(make_execution):
    execution = make_execution({"argv": ["/bin/pwd"]})
    lines = Lines()
    executor.run(execution, emit=lines, should_stop=never)
    assert lines == [str(execution.workdir)]


def test_shell_emits_each_line_as_it_comes(make_execution, tmp_path):
    gate = tmp_path / "gate"
    execution = make_execution(
        {"script": "wait.sh"},
        files={"wait.sh": 'echo first\nwhile [ ! -e "$GATE" ]; do sleep 0.05; done\necho second\n'},
        env={"GATE": str(gate)},
    )
    lines = Lines()
    first_seen = threading.Event()

    def emit(data: bytes) -> None:
        lines(data)
        if lines:
            first_seen.set()

    result: dict[str, Outcome] = {}
    worker = threading.Thread(
        target=lambda: result.update(outcome=executor.run(execution, emit=emit, should_stop=never))
    )
    worker.start()
    assert first_seen.wait(10), "the first line never arrived"
    assert lines == ["first"]  # emitted while the script is still blocked on the gate
    gate.touch()
    worker.join(10)
    assert not worker.is_alive()
    assert lines == ["first", "second"]
    assert result["outcome"].succeeded


def test_shell_streams_a_long_output_without_keeping_it(make_execution):
    newlines, calls, end = 0, 0, b""

    def emit(data: bytes) -> None:
        nonlocal newlines, calls, end
        newlines, calls = newlines + data.count(b"\n"), calls + 1
        end = (end + data)[-16:]

    outcome = executor.run(
        make_execution({"argv": ["seq", "1", "200000"]}), emit=emit, should_stop=never
    )
    assert (newlines, outcome.succeeded) == (200000, True)
    assert end.endswith(b"\n200000\n")
    assert calls > 1  # handed over as it was read, not gathered up


# CR, CRLF, invalid UTF-8, NUL, a 150 kB line and no final newline: nothing a line reader
# would keep as it was.
AWKWARD_SCRIPT = r"""printf 'one\r\ntwo\rthree\n'
printf 'bad: \377\376 caf\303\251\n'
printf 'nul:\000:end\n'
head -c 150000 /dev/zero | tr '\0' x
printf '\nlast, unterminated'
"""
AWKWARD_OUTPUT = (
    b"one\r\ntwo\rthree\n"
    b"bad: \xff\xfe caf\xc3\xa9\n"
    b"nul:\x00:end\n" + b"x" * 150000 + b"\nlast, unterminated"
)


def test_shell_passes_output_on_byte_for_byte(make_execution):
    output = Lines()
    outcome = executor.run(
        make_execution({"script": "awkward.sh"}, files={"awkward.sh": AWKWARD_SCRIPT}),
        emit=output,
        should_stop=never,
    )
    assert outcome.succeeded
    assert bytes(output.data) == AWKWARD_OUTPUT


def test_shell_puts_its_own_note_on_a_line_of_its_own(make_execution):
    # The background sleep keeps the pipe open after the script's unterminated last line.
    execution = make_execution({"script": "bg.sh"}, files={"bg.sh": "sleep 300 &\nprintf open\n"})
    output = Lines()
    executor.run(execution, emit=output, should_stop=never)
    assert bytes(output.data) == b"open\n[ripcord] stopping 1 process(es) the step left running\n"


def test_shell_passes_hostile_variables_as_data(make_execution, tmp_path):
    marker = Path(f"/tmp/pwned-{uuid.uuid4()}")
    canary = tmp_path / "canary"
    canary.mkdir()
    hostile = {
        "SUBST": f"$(touch {marker})",
        "BACKTICKS": f"`touch {marker}`",
        "CHAIN": "; rm -rf /tmp/x",
        "CANARY": f"; rm -rf {canary}",
    }
    execution = make_execution(
        {"script": "echo.sh"},
        files={"echo.sh": 'echo "$SUBST"\necho "$BACKTICKS"\necho "$CHAIN"\necho "$CANARY"\n'},
        env=hostile,
    )
    lines = Lines()
    outcome = executor.run(execution, emit=lines, should_stop=never)
    assert outcome.succeeded
    assert lines == [hostile["SUBST"], hostile["BACKTICKS"], hostile["CHAIN"], hostile["CANARY"]]
    assert not marker.exists()
    assert canary.is_dir()


def test_shell_passes_hostile_argv_items_as_data(make_execution):
    marker = Path(f"/tmp/pwned-{uuid.uuid4()}")
    lines = Lines()
    executor.run(
        make_execution({"argv": ["/bin/echo", f"$(touch {marker})", "; rm -rf /tmp/x"]}),
        emit=lines,
        should_stop=never,
    )
    assert lines == [f"$(touch {marker}) ; rm -rf /tmp/x"]
    assert not marker.exists()


def _run_background_children(
    execution: Execution, *, should_stop: Callable[[], bool]
) -> tuple[BaseException, int, list[int]]:
    """Run BACKGROUND_CHILDREN; returns (raised exception, session id, members seen alive)."""
    lines = Lines()
    seen_alive: list[int] = []

    def stop_when_ready() -> bool:
        if "ready" not in lines:
            return False
        if not seen_alive:
            seen_alive.extend(live_processes_of(int(lines[0])))
        return should_stop()

    started = time.monotonic()
    with pytest.raises((StepCancelled, StepTimedOut)) as raised:
        executor.run(execution, emit=lines, should_stop=stop_when_ready)
    assert time.monotonic() - started < 15
    return raised.value, int(lines[0]), seen_alive


def test_shell_cancel_kills_the_whole_process_group(make_execution):
    execution = make_execution({"script": "bg.sh"}, files={"bg.sh": BACKGROUND_CHILDREN})
    error, sid, seen_alive = _run_background_children(execution, should_stop=lambda: True)
    assert isinstance(error, StepCancelled)
    assert len(seen_alive) >= 3  # bash and both sleeps were really there
    assert wait_until_gone(sid, 5) == []


def test_shell_timeout_kills_the_whole_process_group(make_execution):
    execution = make_execution(
        {"script": "bg.sh"}, files={"bg.sh": BACKGROUND_CHILDREN}, timeout_seconds=1
    )
    error, sid, _ = _run_background_children(execution, should_stop=never)
    assert isinstance(error, StepTimedOut)
    assert wait_until_gone(sid, 5) == []


def test_shell_kills_children_that_ignore_sigterm(make_execution, monkeypatch):
    monkeypatch.setattr(sessions, "TERM_GRACE_SECONDS", 0.5)
    # Ignored signals are inherited: neither bash nor the sleeps will die of SIGTERM.
    script = "trap '' TERM\n" + BACKGROUND_CHILDREN
    execution = make_execution({"script": "stubborn.sh"}, files={"stubborn.sh": script})
    error, sid, _ = _run_background_children(execution, should_stop=lambda: True)
    assert isinstance(error, StepCancelled)
    assert wait_until_gone(sid, 5) == []


def test_shell_stops_processes_left_behind_by_a_finished_script(make_execution):
    execution = make_execution(
        {"argv": ["/bin/bash", "-c", 'sleep 300 > /dev/null 2>&1 & sleep 300 & echo "$$"']}
    )
    lines = Lines()
    outcome = executor.run(execution, emit=lines, should_stop=never)
    assert outcome.succeeded
    assert lines[1].startswith("[ripcord] stopping")
    assert wait_until_gone(int(lines[0]), 5) == []


def test_shell_does_not_start_when_already_cancelled(make_execution, tmp_path):
    marker = tmp_path / "started"
    with pytest.raises(StepCancelled):
        executor.run(
            make_execution({"argv": ["/usr/bin/touch", str(marker)]}),
            emit=Lines(),
            should_stop=lambda: True,
        )
    assert not marker.exists()


def test_shell_reports_a_missing_program_as_executor_error(make_execution):
    with pytest.raises(ExecutorError, match="cannot start"):
        executor.run(
            make_execution({"argv": ["no-such-program-here"]}), emit=Lines(), should_stop=never
        )


def test_shell_refuses_a_script_not_shipped_with_the_runbook(make_execution):
    with pytest.raises(ExecutorError, match="not among the runbook's files"):
        executor.run(make_execution({"script": "missing.sh"}), emit=Lines(), should_stop=never)


@pytest.mark.parametrize(
    ("command", "problem"),
    [
        ({}, "exactly one of"),
        ({"script": "a.sh", "argv": ["ls"]}, "exactly one of"),
        ({"argv": []}, "non-empty list of strings"),
        ({"argv": "rm -rf /"}, "non-empty list of strings"),
        ({"argv": ["ls", 1]}, "non-empty list of strings"),
        ({"script": "../escape.sh"}, "without '..'"),
        ({"script": "/etc/passwd"}, "without '..'"),
        ({"script": "a.sh", "args": "x"}, "'args' must be a list"),
        ({"script": "a.sh", "shell": True}, "unknown key 'shell'"),
    ],
)
def test_shell_validate_reports_bad_commands(command, problem):
    assert any(problem in text for text in executor.validate(command))


def test_shell_validate_accepts_good_commands():
    assert executor.validate({"script": "scripts/x.sh", "args": ["a"]}) == []
    assert executor.validate({"argv": ["pg_restore", "--list", "dump"]}) == []


def test_shell_leaves_no_pipe_open(make_execution):
    before = len(os.listdir("/proc/self/fd"))
    for _ in range(5):
        executor.run(make_execution({"argv": ["/bin/true"]}), emit=Lines(), should_stop=never)
    assert len(os.listdir("/proc/self/fd")) <= before


def test_shell_stops_the_group_when_emit_fails(make_execution):
    execution = make_execution({"script": "bg.sh"}, files={"bg.sh": BACKGROUND_CHILDREN})
    seen = Lines()

    def emit(data: bytes) -> None:
        seen(data)
        if "ready" in seen:
            raise RuntimeError("the log store is down")

    with pytest.raises(RuntimeError, match="log store"):
        executor.run(execution, emit=emit, should_stop=never)
    assert wait_until_gone(int(seen[0]), 5) == []
