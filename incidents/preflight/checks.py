"""The safeguard check families, as plain functions of their params and the environment.

* ``backup``: the backup file named by a variable exists, is recent enough, and
  (``verify: pg_restore_list``) ``pg_restore --list`` can read its table of contents;
* ``marker``: the point-in-time recovery marker file exists; its content is shown;
* ``flag``: feature flags (``name=on|off`` pairs in a variable) have the expected value.

No Django here: the service resolves the environment and stores what these return.
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

RESTORE_LIST_TIMEOUT = 60


@dataclass(frozen=True)
class CheckOutcome:
    result: str  # "pass" | "fail" | "error"
    summary: str
    evidence: dict[str, Any] = field(default_factory=dict)


def _file(params: Mapping[str, Any], env: Mapping[str, str]) -> tuple[str, Path | None]:
    variable = str(params.get("file_variable", ""))
    value = env.get(variable, "")
    return variable, Path(value) if value else None


def backup(params: Mapping[str, Any], env: Mapping[str, str]) -> CheckOutcome:
    variable, path = _file(params, env)
    if path is None:
        return CheckOutcome("error", f"the environment sets no {variable or 'file_variable'}")
    if not path.is_file():
        return CheckOutcome("fail", f"no backup at {path}", {"file": str(path)})
    age_hours = (time.time() - path.stat().st_mtime) / 3600
    evidence: dict[str, Any] = {
        "file": str(path),
        "bytes": path.stat().st_size,
        "age_hours": round(age_hours, 2),
    }
    max_age = params.get("max_age_hours")
    if max_age is not None and age_hours > float(max_age):
        return CheckOutcome(
            "fail", f"backup is {age_hours:.1f} h old (limit {max_age} h)", evidence
        )
    if params.get("verify") == "pg_restore_list":
        try:
            listed = subprocess.run(
                ["pg_restore", "--list", str(path)],
                capture_output=True,
                text=True,
                timeout=RESTORE_LIST_TIMEOUT,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            return CheckOutcome("error", f"pg_restore --list could not run: {exc}", evidence)
        entries = [line for line in listed.stdout.splitlines() if line and not line.startswith(";")]
        evidence |= {
            "pg_restore_exit": listed.returncode,
            "toc_entries": len(entries),
            "stderr": listed.stderr[-500:],
        }
        if listed.returncode != 0 or not entries:
            return CheckOutcome("fail", "pg_restore --list cannot read the backup", evidence)
        return CheckOutcome(
            "pass", f"readable: {len(entries)} entries, {age_hours:.1f} h old", evidence
        )
    return CheckOutcome("pass", f"present, {age_hours:.1f} h old", evidence)


def marker(params: Mapping[str, Any], env: Mapping[str, str]) -> CheckOutcome:
    variable, path = _file(params, env)
    if path is None:
        return CheckOutcome("error", f"the environment sets no {variable or 'file_variable'}")
    if not path.is_file():
        return CheckOutcome("fail", f"no point-in-time marker at {path}", {"file": str(path)})
    content = path.read_text(errors="replace").strip()[:200]
    return CheckOutcome("pass", f"marker: {content}", {"file": str(path), "content": content})


def flag(params: Mapping[str, Any], env: Mapping[str, str]) -> CheckOutcome:
    variable = str(params.get("variable", "FEATURE_FLAGS"))
    if variable not in env:
        return CheckOutcome("error", f"the environment sets no {variable}")
    seen = {}
    for part in env[variable].split(","):  # "name=value" pairs
        name, _, value = part.strip().partition("=")
        if name:
            seen[name] = value
    expect = str(params.get("expect", "off"))
    wanted = [str(name) for name in params.get("flags", [])]
    wrong = {name: seen.get(name, "missing") for name in wanted if seen.get(name) != expect}
    evidence = {
        "variable": variable,
        "expected": expect,
        "seen": {n: seen.get(n, "missing") for n in wanted},
    }
    if wrong:
        listed = ", ".join(f"{k}={v}" for k, v in wrong.items())
        return CheckOutcome("fail", f"flags not {expect}: {listed}", evidence)
    return CheckOutcome("pass", f"{', '.join(wanted)} all {expect}", evidence)


FAMILIES: dict[str, Callable[[Mapping[str, Any], Mapping[str, str]], CheckOutcome]] = {
    "backup": backup,
    "marker": marker,
    "flag": flag,
}
