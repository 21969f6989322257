"""The safeguard check families: what pre-flight proves before anything destructive runs.

* ``backup``: the backup file named by a variable exists, is recent enough, and
  (``verify: pg_restore_list``) ``pg_restore --list`` can read its table of contents;
* ``marker``: the point-in-time recovery marker file exists; its content is shown;
* ``flag``: feature flags have the expected value, as the application's flags
  endpoint reports them (``url``), or as ``name=on|off`` pairs in a variable.

No Django here: the incident's pre-flight service resolves the environment, runs
these through ``runbooks.checks.run_check`` and stores what they return. Requests go through the http executor's ``send``, with its rules (no redirects, no
proxy from the worker's environment).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runbooks.checks import CheckContext, CheckOutcome, register
from runbooks.executors.base import ExecutorError
from runbooks.executors.http import dig, fill, send
from validation.checks.base import unknown_keys

RESTORE_LIST_TIMEOUT = 60
FLAG_TIMEOUT_SECONDS = 10
FLAG_KEYS = {"url", "json_path", "variable", "flags", "expect"}
BACKUP_KEYS = {"file_variable", "max_age_hours", "verify"}
MARKER_KEYS = {"file_variable"}
VERIFY_MODES = {"pg_restore_list"}


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
    """The named flags have the expected value, as the application reports them.

    ``url`` (``${APP_URL}/api/flags``, filled from the environment's variables) is
    asked with a GET for a JSON object of flags, ``{"uuid_ids": false, ...}``, or the
    object found at the dotted ``json_path`` in its answer (read as ``expect_json``
    reads a path: ``data.0.flags`` enters arrays too); true and false read as
    on and off. ``variable`` instead reads ``name=on|off`` pairs from a variable, for
    an environment whose flags are configuration rather than a service to ask.
    """
    if problems := _flag_problems(params):
        return CheckOutcome("error", "; ".join(problems))
    read = _flags_from_url(params, env) if "url" in params else _flags_from_variable(params, env)
    if isinstance(read, CheckOutcome):
        return read
    seen, source = read
    expect = str(params.get("expect", "off"))
    wanted = [str(name) for name in params.get("flags", [])]
    wrong = {name: seen.get(name, "missing") for name in wanted if seen.get(name) != expect}
    evidence = {
        **source,
        "expected": expect,
        "seen": {n: seen.get(n, "missing") for n in wanted},
    }
    if wrong:
        listed = ", ".join(f"{k}={v}" for k, v in wrong.items())
        return CheckOutcome("fail", f"flags not {expect}: {listed}", evidence)
    return CheckOutcome("pass", f"{', '.join(wanted)} all {expect}", evidence)


def _flag_problems(params: Mapping[str, Any]) -> list[str]:
    problems = unknown_keys(params, FLAG_KEYS, "flag")
    if ("url" in params) == ("variable" in params):
        problems.append("flag: give 'url' (a flags endpoint) or 'variable', not both or neither")
    flags = params.get("flags")
    if not isinstance(flags, list) or not flags or not all(isinstance(f, str) for f in flags):
        problems.append("flag: 'flags' must list the flags to check")
    return problems


def _flags_from_variable(
    params: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Any]] | CheckOutcome:
    variable = str(params["variable"])
    if variable not in env:
        return CheckOutcome("error", f"the environment sets no {variable}")
    seen = {}
    for part in env[variable].split(","):  # "name=value" pairs
        name, _, value = part.strip().partition("=")
        if name:
            seen[name] = value
    return seen, {"variable": variable}


def _flags_from_url(
    params: Mapping[str, Any], env: Mapping[str, str]
) -> tuple[dict[str, str], dict[str, Any]] | CheckOutcome:
    template = str(params["url"])
    source: dict[str, Any] = {"url": template}  # the template: a filled URL may hold secrets
    try:
        request = urllib.request.Request(
            fill(template, env), headers={"Accept": "application/json"}
        )
        response = send(request, timeout=FLAG_TIMEOUT_SECONDS)
    except ExecutorError as exc:
        return CheckOutcome("error", f"cannot read the flags from {template}: {exc}", source)
    source |= {"status": response.status}
    text = response.body.decode("utf-8", errors="replace")
    if response.status != 200:
        source |= {"body_excerpt": text[:500]}
        return CheckOutcome(
            "error", f"GET {template} answered HTTP {response.status}: flags unknown", source
        )
    try:
        document = json.loads(text)
    except ValueError:
        return CheckOutcome("error", f"GET {template} did not answer JSON", source)
    path = params.get("json_path")
    if path:
        document = dig(document, str(path))  # MISSING, not a dict, where it leads nowhere
    if not isinstance(document, dict):
        where = f" at {path}" if path else ""
        return CheckOutcome("error", f"GET {template} answered no object of flags{where}", source)
    return {str(name): _flag_value(value) for name, value in document.items()}, source


def _flag_value(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return value if isinstance(value, str) else json.dumps(value)


def _file_problems(params: Mapping[str, Any], known: set[str], family: str) -> list[str]:
    problems = unknown_keys(params, known, family)
    variable = params.get("file_variable")
    if not isinstance(variable, str) or not variable:
        problems.append(f"{family}: 'file_variable' must name the variable holding the file's path")
    return problems


@register("backup")
class BackupFamily:
    kind = "backup"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        problems = _file_problems(params, BACKUP_KEYS, self.kind)
        max_age = params.get("max_age_hours")
        if max_age is not None and (
            isinstance(max_age, bool) or not isinstance(max_age, int | float) or max_age <= 0
        ):
            problems.append("backup: 'max_age_hours' must be a positive number")
        if "verify" in params and params["verify"] not in VERIFY_MODES:
            problems.append(f"backup: 'verify' must be one of {', '.join(sorted(VERIFY_MODES))}")
        return problems

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        return backup(params, env)


@register("marker")
class MarkerFamily:
    kind = "marker"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        return _file_problems(params, MARKER_KEYS, self.kind)

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        return marker(params, env)


@register("flag")
class FlagFamily:
    kind = "flag"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        return _flag_problems(params)

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        return flag(params, env)
