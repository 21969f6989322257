"""What a shell step left running on this host after its worker died: found and stopped.

Each step leads a session of its own (shell.py, sessions.py), so a worker killed outright takes
none of its step's processes with it; left alone, a non-idempotent script (a
pg_restore) would still be running when a person re-runs it. Every process a step
starts carries RUN_MARKER and INSTANCE_MARKER in its environment, read here from
/proc/<pid>/environ. The environment belongs to the process itself: a pid or process
group id remembered by the dead worker may by now name a stranger, its marks cannot.

A marked process's whole session is stopped, so a child that cleared its environment
(``env -i``) goes with its parent's session. Only processes we may read are seen:
another user's are neither ours to find nor to stop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runbooks.executors.sessions import INSTANCE_MARKER, RUN_MARKER, session_members, stop_session

_RUN = RUN_MARKER.encode() + b"="
_INSTANCE = INSTANCE_MARKER.encode() + b"="


@dataclass(frozen=True)
class Marked:
    pid: int
    session: int
    name: str


def marked_processes(instance: str) -> dict[int, list[Marked]]:
    """Live processes on this host started by steps of installation ``instance``, by run id."""
    found: dict[int, list[Marked]] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            environ = Path(entry.path, "environ").read_bytes()
        except OSError:  # exited while we looked, or not ours to read
            continue
        run, owner = None, None
        for item in environ.split(b"\0"):
            if item.startswith(_RUN):
                run = item.removeprefix(_RUN)
            elif item.startswith(_INSTANCE):
                owner = item.removeprefix(_INSTANCE)
        if run is None or not run.isdigit() or owner != instance.encode():
            continue
        # The command name may hold spaces and parentheses: fields start after the last ')'.
        state, _ppid, _pgrp, session = stat[stat.rfind(")") + 2 :].split()[:4]
        if state in ("Z", "X"):
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        found.setdefault(int(run), []).append(Marked(int(entry.name), int(session), name))
    return found


def stop_marked(run_id: int, instance: str) -> str:
    """TERM, then after a grace KILL, the sessions of run ``run_id``'s marked processes.

    Returns what was stopped ("" when nothing of the run was alive here).
    """
    marked = marked_processes(instance).get(run_id, [])
    # Never our own session: a marked process could only share it if we were started by a step.
    sessions = sorted({process.session for process in marked} - {os.getsid(0)})
    if not sessions:
        return ""
    pids = {pid for sid in sessions for pid, _pgid in session_members(sid)}
    pids |= {process.pid for process in marked}
    names = sorted({_name(pid) for pid in pids} - {""} or {p.name for p in marked})
    for sid in sessions:
        stop_session(sid)
    text = f"stopped {len(pids)} process(es) it left running ({', '.join(names)})"
    if alive := marked_processes(instance).get(run_id, []):
        text += f"; {len(alive)} would not die: pid {', '.join(str(p.pid) for p in alive)}"
    return text


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
