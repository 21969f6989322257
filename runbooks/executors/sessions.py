"""A step's process session on this host: who is in it, and stopping all of them.

A shell step leads a session of its own, and every process it starts carries
RUN_MARKER and INSTANCE_MARKER in its environment; the shell executor and the
leftovers' reaper both stop a session through here.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

RUN_MARKER = "RIPCORD_STEP_RUN"
INSTANCE_MARKER = "RIPCORD_INSTANCE"
TERM_GRACE_SECONDS = 5.0  # SIGTERM, then SIGKILL for whatever is still alive


def session_members(sid: int) -> list[tuple[int, int]]:
    """(pid, pgid) of the live processes in session ``sid`` or in process group ``sid``."""
    members = []
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
        except OSError:
            continue  # exited while we looked
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        state, _ppid, pgrp, session = stat[stat.rfind(")") + 2 :].split()[:4]
        if state not in ("Z", "X") and sid in (int(pgrp), int(session)):
            members.append((int(entry.name), int(pgrp)))
    return members


def _signal_session(sid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(sid, sig)
    for pid, pgid in session_members(sid):
        if pgid != sid:  # moved to a group of its own, still inside our session
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, sig)


def stop_session(sid: int) -> None:
    """TERM everything the step started, KILL what is left after the grace."""
    _signal_session(sid, signal.SIGTERM)
    if not _wait_gone(sid, TERM_GRACE_SECONDS):
        _signal_session(sid, signal.SIGKILL)
        _wait_gone(sid, 2.0)


def _wait_gone(sid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while session_members(sid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True
