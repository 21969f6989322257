"""Shell executor: a script shipped with the runbook, or an argv list, never a shell string.

Command: ``{"script": "scripts/x.sh", "args": [...]}`` runs ``/bin/bash <workdir>/scripts/x.sh
args...``; ``{"argv": ["pg_restore", "-l", "dump"], "args": [...]}`` runs the list directly.

Why it is built this way:

- Parameters reach the process only as environment variables, never pasted into a
  command line, so a variable holding ``$(touch /tmp/pwned)`` is plain data the script
  may echo.
- The child sees a minimal environment (PATH, HOME=workdir, LANG) plus the step's
  variables: the worker's own settings (database URL, secret key) do not leak in, and no
  variable may replace PATH or HOME or name code to load first (runbooks/envnames.py).
- The child leads a new session. Cancel and timeout signal the whole process group
  (and any session member that moved to another group): TERM, then KILL after a
  grace, so ``sleep 300 &`` cannot outlive its step. Leftovers of a script that exited
  on its own are stopped the same way: a step owns what it started.
- The leader is only *observed* to exit (``waitid`` with WNOWAIT) and reaped after its
  group has been dealt with: while its zombie holds the pid, the group id cannot be
  recycled, so we never signal a stranger's group.
- Every process the step starts carries ``RIPCORD_STEP_RUN=<run id>`` and
  ``RIPCORD_INSTANCE`` in its environment (children inherit them). A worker killed
  outright cannot stop its step's session; whoever finds the run interrupted stops
  what carries its marks (``abandon``, runbooks/executors/leftovers.py).
- Membership is read from /proc: workers run on Linux.
- Output (stdout and stderr, merged in the order written) is passed on as the bytes
  read from the pipe; only Ripcord's own notes, when it has to step in, are added.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from runbooks.envnames import RIPCORD_PREFIX, reserved_reason
from runbooks.executors._stream import Output, OutputReader, StopReason, Watch
from runbooks.executors.base import Emit, Execution, ExecutorError, Outcome, ShouldStop
from runbooks.executors.leftovers import stop_marked
from runbooks.executors.sessions import (
    INSTANCE_MARKER,
    RUN_MARKER,
    session_members,
    stop_session,
)

BASE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
STRAGGLER_GRACE_SECONDS = 1.0  # leader gone but a child still holds the output pipe
READ_CHUNK = 64 * 1024
TICK = 0.1
KEYS = {"script", "argv", "args", "env"}


class ShellExecutor:
    kind = "shell"

    def validate(self, command: Mapping[str, Any]) -> list[str]:
        problems = [f"shell: unknown key {key!r}" for key in sorted(set(command) - KEYS)]
        has_script, has_argv = "script" in command, "argv" in command
        if has_script == has_argv:
            problems.append("shell: give exactly one of 'script' or 'argv'")
        if has_script and (problem := relative_path_problem(command["script"])):
            problems.append(f"shell: 'script' {problem}")
        if has_argv and not (_is_str_list(command["argv"]) and command["argv"]):
            problems.append("shell: 'argv' must be a non-empty list of strings")
        if "args" in command and not _is_str_list(command["args"]):
            problems.append("shell: 'args' must be a list of strings")
        if "env" in command and not _is_str_list(command["env"]):
            problems.append("shell: 'env' must be a list of variable names")
        return problems

    def run(self, execution: Execution, *, emit: Emit, should_stop: ShouldStop) -> Outcome:
        if problems := self.validate(execution.command):
            raise ExecutorError("; ".join(problems))
        watch = Watch(should_stop, execution.timeout_seconds)
        if reason := watch.reason():
            raise watch.error(reason)
        argv = _prepare(execution)
        env = {"PATH": BASE_PATH, "HOME": str(execution.workdir), "LANG": "C.UTF-8"}
        env.update(_passed_env(execution))
        # Set last, so no runbook variable can unmark the step's processes.
        env.update({RUN_MARKER: str(execution.run_id), INSTANCE_MARKER: execution.instance})
        try:
            proc = subprocess.Popen(
                argv,
                cwd=execution.workdir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except OSError as exc:
            raise ExecutorError(f"shell: cannot start {argv[0]!r}: {exc.strerror}") from exc
        try:
            reason = _follow(proc, watch, Output(emit), f"shell-run-{execution.run_id}")
        finally:
            if proc.returncode is None:  # emit raised, or we were interrupted: leave nothing behind
                stop_session(proc.pid)
                proc.wait()
        if reason:
            raise watch.error(reason)
        code = proc.returncode
        summary = f"exit {code}" if code >= 0 else f"killed by {signal.Signals(-code).name}"
        return Outcome(
            succeeded=code == 0,
            exit_code=code,
            summary=summary,
            evidence={"argv": argv, "exit_code": code},
        )

    def abandon(self, run_id: int, *, instance: str) -> str:
        return stop_marked(run_id, instance)


def _passed_env(execution: Execution) -> dict[str, str]:
    """The variables the process gets: all of them, or only those the step lists in ``env``
    (least privilege: a script sees the secrets it names, not every secret of the environment).
    Ripcord's own RIPCORD_* variables always pass; names that would change what code runs
    (``PATH``, ``LD_PRELOAD``, ``BASH_ENV``: runbooks.envnames) never do, even listed."""
    allowed = execution.command.get("env")

    def passes(name: str) -> bool:
        if name.startswith(RIPCORD_PREFIX):
            return True
        return reserved_reason(name) is None and (allowed is None or name in allowed)

    return {name: value for name, value in execution.env.items() if passes(name)}


def _follow(
    proc: subprocess.Popen[bytes], watch: Watch, out: Output, name: str
) -> StopReason | None:
    """Pass output on until the process and its pipe are done, or stop it; reaps the leader."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    reader = OutputReader(
        iter(lambda: os.read(fd, READ_CHUNK), b""), name=name, on_done=proc.stdout.close
    )
    try:
        reason = _pump(proc, reader, watch, out)
    finally:
        reader.abandon()  # if emit raised, the reader must not wait forever on a full queue
    if reason is None:
        _stop_leftovers(proc.pid, out)
        if reader.error is not None:
            out.note(f"output reader failed: {reader.error}")
    proc.wait()
    return reason


def _pump(
    proc: subprocess.Popen[bytes], reader: OutputReader, watch: Watch, out: Output
) -> StopReason | None:
    exited_at: float | None = None
    stragglers_stopped = False
    while True:
        out.write(reader.get(TICK))
        if reason := watch.reason():
            stop_session(proc.pid)
            for data in reader.drain(2.0):
                out.write(data)
            return reason
        if not _has_exited(proc.pid):
            continue
        if reader.eof:
            return None
        # The script is done but a background child still holds its output open.
        exited_at = exited_at or time.monotonic()
        if not stragglers_stopped and time.monotonic() - exited_at >= STRAGGLER_GRACE_SECONDS:
            _stop_leftovers(proc.pid, out)
            stragglers_stopped = True


def _stop_leftovers(sid: int, out: Output) -> None:
    if leftovers := session_members(sid):
        out.note(f"stopping {len(leftovers)} process(es) the step left running")
        stop_session(sid)


def _prepare(execution: Execution) -> list[str]:
    """Write the runbook's files into the workdir and return the argv to run."""
    command = execution.command
    args: list[str] = list(command.get("args", []))
    execution.workdir.mkdir(parents=True, exist_ok=True)
    # A script may call or read its siblings (helpers, SQL files), so all shipped files are
    # written, owner-only and executable like the script itself.
    for relative, text in execution.files.items():
        if problem := relative_path_problem(relative):
            raise ExecutorError(f"shell: runbook file {relative!r} {problem}")
        _write_private(execution.workdir / relative, text)
    if "argv" in command:
        return [*command["argv"], *args]
    script = command["script"]
    if script not in execution.files:
        raise ExecutorError(f"shell: script {script!r} is not among the runbook's files")
    return ["/bin/bash", str(execution.workdir / script), *args]


def _write_private(target: Path, text: str) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW
    with os.fdopen(os.open(target, flags, 0o700), "w", encoding="utf-8", newline="") as fh:
        fh.write(text)
    target.chmod(0o700)  # the umask may have narrowed the mode; an existing file kept its own


def relative_path_problem(path: object) -> str | None:
    if not isinstance(path, str) or not path:
        return "must be a non-empty string"
    pure = PurePosixPath(path)
    if pure.is_absolute() or ".." in pure.parts:
        return "must be a relative path without '..'"
    return None


def _is_str_list(value: object) -> bool:
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def _has_exited(pid: int) -> bool:
    """True once the leader has exited, without reaping it."""
    try:
        flags = os.WEXITED | os.WNOHANG | os.WNOWAIT
        return os.waitid(os.P_PID, pid, flags) is not None
    except ChildProcessError:
        return True
