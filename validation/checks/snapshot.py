"""snapshot checks: the target's row counts, checksums and id types against a baseline.

Params::

    baseline: backup            # the fingerprint written beside the pre-migration backup
            | incident_snapshot # the fingerprint taken when the incident opened
    counts: [users]             # tables whose row count must equal the baseline's
    checksums:                  # tables whose content checksum must equal the baseline's,
      tasks: [id, title]        # over these columns (the baseline's must be the same)
    id_types: [users]           # tables whose ``id`` type must equal the baseline's
    explain:                    # optional, run only when something differs:
      label: task ids missing below the highest id
      query: SELECT ...         # its rows (first column: an id) name the culprits
    backup_env: BACKUP_FILE     # the variable holding the backup's path
    database_env: TARGET_DATABASE_URL

Why it is built this way:

- A baseline is a fingerprint (``validation.fingerprint``): counts of every
  table, checksums over named columns and id column types. The incident snapshot
  records what the runbook's ``snapshot:`` declares; the backup's is written
  beside it as ``<backup without suffix>.fingerprint.json`` (``manage.py
  demo_target create`` does for the demo target). Checksums are only comparable
  over the same columns: the check's own are used for the target, and a baseline
  that took the table's checksum over other columns is an error, not a
  difference. The evidence names the columns.
- The target is fingerprinted for what the check names only, and each such
  fingerprint once per run (``CheckContext.memo``): the target does not change
  under a read-only validation.
- A count difference says how many rows are missing (or extra); a checksum says
  which table and columns differ. What rows: that needs the data, so a check may
  give an ``explain`` query whose first rows go into the evidence.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from validation.checks.base import (
    CheckContext,
    CheckError,
    CheckOutcome,
    connection_string,
    database_env_problems,
    evidence,
    examples,
    is_name_list,
    register,
    unknown_keys,
)
from validation.checks.sql import run_query
from validation.fingerprint import fingerprint
from validation.postgres import TargetError

KEYS = {"baseline", "counts", "checksums", "id_types", "explain", "backup_env", "database_env"}
BASELINES = {"backup": "pre-migration backup", "incident_snapshot": "incident-start snapshot"}
SECTIONS = (("counts", "tables"), ("checksums", "checksums"), ("id_types", "id_types"))


def backup_fingerprint_path(backup_file: str | Path) -> Path:
    """Where the fingerprint of a backup is kept (as ``demo_target create`` writes it)."""
    return Path(backup_file).with_suffix(".fingerprint.json")


@register("snapshot")
class SnapshotCheck:
    kind = "snapshot"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        problems = unknown_keys(params, KEYS, "snapshot")
        if params.get("baseline") not in BASELINES:
            problems.append(f"snapshot: 'baseline' must be one of {', '.join(BASELINES)}")
        for key in ("counts", "id_types"):
            if not is_name_list(params.get(key, [])):
                problems.append(f"snapshot: '{key}' must be a list of table names")
        checksums = params.get("checksums", {})
        if not isinstance(checksums, dict) or not all(
            isinstance(columns, list) and columns and is_name_list([table, *columns])
            for table, columns in checksums.items()
        ):
            problems.append("snapshot: 'checksums' must map each table to a list of its columns")
        if not any(params.get(key) for key, _ in SECTIONS):
            problems.append("snapshot: name tables in 'counts', 'checksums' or 'id_types'")
        explain = params.get("explain", {})
        if not isinstance(explain, dict) or (
            explain
            and not (
                set(explain) == {"label", "query"}
                and all(isinstance(explain[k], str) and explain[k].strip() for k in explain)
            )
        ):
            problems.append("snapshot: 'explain' must give a 'label' and a 'query'")
        if not isinstance(params.get("backup_env", "BACKUP_FILE"), str):
            problems.append("snapshot: 'backup_env' must name a variable")
        return problems + database_env_problems(params, "snapshot")

    def run(
        self, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
    ) -> CheckOutcome:
        label = BASELINES[params["baseline"]]
        baseline = _baseline(params, env, context)
        _same_columns(params, baseline, label)
        dsn = connection_string(params, env)
        current = _current(dsn, params, context)
        ran = f"fingerprint of the target compared with the {label}"
        expected = _select(params, baseline)
        seen = _select(params, current)
        differences = _differences(params, expected, seen, label)
        details: dict[str, Any] = {"baseline": params["baseline"]}
        if params.get("checksums"):
            details["checksum_columns"] = current["columns"]
        if differences and params.get("explain"):
            details["explain"] = _explain(params["explain"], dsn, context)
            if "count" in details["explain"] and details["explain"]["count"]:
                found = details["explain"]
                first = [row[0] if row else None for row in found["first_rows"]]
                differences.append(f"{found['label']}: {examples(first, found['count'], 10)}")
        proof = evidence(ran, expected, seen, differences, **details)
        if differences:
            return CheckOutcome("fail", "; ".join(differences), proof)
        return CheckOutcome("pass", f"{_described(params, seen)}, as in the {label}", proof)


def _baseline(
    params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
) -> Mapping[str, Any]:
    if params["baseline"] == "incident_snapshot":
        if not context.snapshot:
            raise CheckError("no snapshot of the target was taken when the incident opened")
        return context.snapshot
    variable = params.get("backup_env", "BACKUP_FILE")
    if not env.get(variable):
        raise CheckError(f"the variable {variable} naming the backup file is not set")
    path = backup_fingerprint_path(env[variable])
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise CheckError(f"no fingerprint beside the backup: {path} does not exist") from None
    except (OSError, ValueError) as exc:
        raise CheckError(f"the backup's fingerprint {path} cannot be read: {exc}") from None
    if not isinstance(data, dict) or not all(isinstance(data.get(s), dict) for _, s in SECTIONS):
        raise CheckError(f"{path} is not a fingerprint (tables, checksums, id_types)")
    return data


def _current(dsn: str, params: Mapping[str, Any], context: CheckContext) -> Mapping[str, Any]:
    """The target's fingerprint for what the check names, and nothing more."""
    asked = {
        "counts": params.get("counts", []),
        "checksums": params.get("checksums", {}),
        "id_tables": params.get("id_types", []),
    }
    key = f"fingerprint:{dsn}:{json.dumps(asked, sort_keys=True)}"
    if key not in context.memo:
        try:
            context.memo[key] = fingerprint(dsn, **asked)
        except TargetError as exc:
            raise CheckError(str(exc)) from exc
    current: Mapping[str, Any] = context.memo[key]
    return current


def _same_columns(params: Mapping[str, Any], baseline: Mapping[str, Any], label: str) -> None:
    """A checksum compares only with one over the same columns (older baselines say none)."""
    taken = baseline.get("columns") or {}
    for table, columns in params.get("checksums", {}).items():
        if table in taken and list(taken[table]) != list(columns):
            raise CheckError(
                f"the {label} took the checksum of {table} over ({', '.join(taken[table])}),"
                f" this check names ({', '.join(columns)}): they cannot be compared"
            )


def _select(params: Mapping[str, Any], print_: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """The parts of a fingerprint the check names, e.g. ``{"tables": {"users": 300}}``."""
    return {
        section: {table: print_.get(section, {}).get(table) for table in params[key]}
        for key, section in SECTIONS
        if params.get(key)
    }


def _differences(
    params: Mapping[str, Any], expected: dict[str, Any], seen: dict[str, Any], label: str
) -> list[str]:
    differences = []
    for table, wanted in expected.get("tables", {}).items():
        got = seen["tables"][table]
        if got == wanted and wanted is not None:
            continue
        if wanted is None:
            differences.append(f"{table}: not in the {label}, {got} rows seen")
        elif got is None:
            differences.append(f"{table}: {wanted} rows expected ({label}), the table is missing")
        else:
            gap = f"{wanted - got} missing" if got < wanted else f"{got - wanted} more"
            differences.append(f"{table}: {wanted} expected ({label}), {got} seen — {gap}")
    for table, wanted in expected.get("checksums", {}).items():
        got = seen["checksums"][table]
        if got == wanted and wanted is not None:
            continue
        columns = f"{table}({', '.join(params['checksums'][table])})"
        if wanted is None:
            reason = f"has no checksum in the {label}"
        elif got is None:
            reason = "cannot be computed: the table or one of these columns is missing"
        else:
            reason = f"content differs from the {label} (checksum {wanted[:8]}… ≠ {got[:8]}…)"
        differences.append(f"{columns}: {reason}")
    for table, wanted in expected.get("id_types", {}).items():
        got = seen["id_types"][table]
        if got == wanted:
            continue
        if wanted is None:
            differences.append(f"{table}.id: no id type in the {label}, {got or 'missing'} seen")
        else:
            differences.append(f"{table}.id: {wanted} expected ({label}), {got or 'missing'} seen")
    return differences


def _explain(explain: Mapping[str, str], dsn: str, context: CheckContext) -> dict[str, Any]:
    found: dict[str, Any] = {"label": explain["label"], "query": explain["query"]}
    try:
        rows = run_query(dsn, explain["query"], None, context.timeout_seconds)
    except CheckError as exc:
        return found | {"error": str(exc)}
    return found | {"count": rows.count, "columns": rows.columns, "first_rows": rows.rows}


def _described(params: Mapping[str, Any], seen: dict[str, Any]) -> str:
    """``300 users (integer ids)``, ``1800 tasks (same content)``, one part per table."""
    tables: list[str] = []
    for key, _ in SECTIONS:
        tables += [t for t in params.get(key, []) if t not in tables]
    parts = []
    for table in tables:
        notes = []
        if table in params.get("checksums", []):
            notes.append("same content")
        if table in params.get("id_types", []):
            notes.append(f"{seen['id_types'][table]} ids")
        count = seen.get("tables", {}).get(table)
        text = f"{count} {table}" if count is not None else table
        parts.append(text + (f" ({', '.join(notes)})" if notes else ""))
    return ", ".join(parts)
