"""Processes carrying a step run's marks, as a worker killed mid-step leaves them behind."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time

from runbooks.executors.sessions import INSTANCE_MARKER, RUN_MARKER, session_members


class Orphans:
    """Starts marked processes, each leading a session like a shell step; kills the rest after."""

    def __init__(self) -> None:
        self.sessions: list[int] = []

    def start(
        self, argv: list[str], *, run_id: int, instance: str, members: int = 1
    ) -> subprocess.Popen[bytes]:
        """Start ``argv`` with the marks; return once ``members`` processes are in its session."""
        env = {"PATH": os.environ["PATH"], RUN_MARKER: str(run_id), INSTANCE_MARKER: instance}
        process = subprocess.Popen(argv, env=env, start_new_session=True)
        self.sessions.append(process.pid)
        deadline = time.monotonic() + 10
        while len(session_members(process.pid)) < members:
            assert time.monotonic() < deadline, f"{argv} did not start {members} process(es)"
            time.sleep(0.02)
        return process

    def kill_all(self) -> None:
        for sid in self.sessions:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(sid, signal.SIGKILL)
