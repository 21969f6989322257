"""The ``validation`` executor: a validation step runs the runbook's checks it names.

Command (built at run time by ``incidents.checks.services.command_for_step`` from the
runbook version, since the step row only knows its kind)::

    {"checks": [{"id": "user_accounts_exist", "title": "...", "family": "user_data",
                 "check": {"kind": "snapshot", "params": {...}} | null}, ...],
     "snapshot": {...fingerprint taken when the incident opened...} | null}

One line of output per check (``PASS user_accounts_exist — 300 users, as in the
backup``, then the differences of a failed one), and an outcome that succeeds iff
every check passes, with ``evidence={"checks": [{id, title, family, kind, result,
summary, evidence, checked_at}]}`` for ``incidents.checks.services.record_results``.

Each check runs in a helper thread while this (the caller's) thread keeps asking
``should_stop``, so a person's cancel is heard while a slow checksum of a big table
runs (the lease is renewed by the runner's own thread, polled or not). A cancelled
or timed-out run abandons the check in flight (its queries carry a statement
timeout) and stops.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from runbooks.checks import CheckContext, CheckOutcome, evidence, run_check, validate_check
from runbooks.executors._stream import Watch
from runbooks.executors.base import Emit, Execution, ExecutorError, Outcome, ShouldStop, as_line
from runbooks.specs import RunbookSpec

ITEM_KEYS = {"id", "title", "family", "check"}
NO_CHECK = "no machine check is declared: verify by hand and record it on the incident"


def command_for(
    spec: RunbookSpec, validation_ids: Iterable[str], snapshot: Mapping[str, Any] | None
) -> dict[str, Any]:
    """The executor command for these validations of ``spec`` (in the order given)."""
    by_id = {validation.id: validation for validation in spec.validations}
    checks = []
    for key in validation_ids:
        if key not in by_id:
            raise ExecutorError(f"validation: the runbook has no validation {key!r}")
        validation = by_id[key]
        check = validation.check.model_dump(mode="json") if validation.check else None
        checks.append(
            {"id": key, "title": validation.title, "family": validation.family, "check": check}
        )
    return {"checks": checks, "snapshot": dict(snapshot) if snapshot else None}


class ValidationExecutor:
    kind = "validation"

    def validate(self, command: Mapping[str, Any]) -> list[str]:
        # In a runbook file a validation step has no command: it names validations,
        # which importers.validations checks. The command exists only at run time.
        return _problems(command, with_params=True) if command else []

    def abandon(self, run_id: int, *, instance: str) -> str:
        """Nothing to stop: checks are queries with a statement timeout of their own."""
        return ""

    def run(self, execution: Execution, *, emit: Emit, should_stop: ShouldStop) -> Outcome:
        command = execution.command
        if not command:
            raise ExecutorError("validation: no checks to run (the step names no validations)")
        # Bad params are not refused here: run_check makes each such check an "error"
        # result, and the other checks still give their verdict.
        if problems := _problems(command, with_params=False):
            raise ExecutorError("; ".join(problems))
        watch = Watch(should_stop, execution.timeout_seconds)
        context = CheckContext(snapshot=command.get("snapshot"))
        results = []
        for item in command["checks"]:
            if reason := watch.reason():
                raise watch.error(reason)
            outcome = _run_one(
                item,
                execution.env,
                replace(context, timeout_seconds=max(watch.remaining(), 1.0)),
                watch,
            )
            emit(as_line(f"{outcome.result.upper()} {item['id']} — {outcome.summary}"))
            differences = outcome.evidence.get("differences", [])
            # The summary often is the differences joined; repeat only what it leaves out.
            for difference in [d for d in differences if d not in outcome.summary]:
                emit(as_line(f"    {difference}"))
            results.append(
                {
                    "id": item["id"],
                    "title": item["title"],
                    "family": item.get("family", ""),
                    "kind": (item.get("check") or {}).get("kind", ""),
                    "result": outcome.result,
                    "summary": outcome.summary,
                    "evidence": outcome.evidence,
                    "checked_at": datetime.now(UTC).isoformat(),
                }
            )
        failed = [result["id"] for result in results if result["result"] != "pass"]
        if failed:
            summary = f"{len(failed)} of {len(results)} checks did not pass: {', '.join(failed)}"
        else:
            summary = f"all {len(results)} checks passed"
        emit(as_line(f"[ripcord] {summary}"))
        return Outcome(succeeded=not failed, summary=summary, evidence={"checks": results})


def _problems(command: Mapping[str, Any], *, with_params: bool) -> list[str]:
    """What is wrong with a command's shape (and, ``with_params``, with its checks' params)."""
    problems = [
        f"validation: unknown key {k!r}" for k in sorted(set(command) - {"checks", "snapshot"})
    ]
    checks = command.get("checks")
    if not isinstance(checks, list) or not checks:
        return [*problems, "validation: 'checks' must be a non-empty list"]
    for index, item in enumerate(checks):
        if not isinstance(item, dict) or not {"id", "title"} <= set(item) <= ITEM_KEYS:
            problems.append(f"validation: checks[{index}] needs 'id' and 'title'")
            continue
        check = item.get("check")
        if check is None:
            continue  # a validation done by hand: reported as such when the step runs
        params = check.get("params", {}) if isinstance(check, dict) else None
        kind = check.get("kind") if isinstance(check, dict) else None
        if not isinstance(kind, str) or not isinstance(params, dict):
            problems.append(f"validation: checks[{index}].check needs 'kind' and 'params'")
        elif with_params:
            problems += [f"validation: {item['id']}: {p}" for p in validate_check(kind, params)]
    if not isinstance(command.get("snapshot") or {}, dict):
        problems.append("validation: 'snapshot' must be a fingerprint (an object)")
    return problems


def _run_one(
    item: Mapping[str, Any], env: Mapping[str, str], context: CheckContext, watch: Watch
) -> CheckOutcome:
    check = item.get("check")
    if check is None:
        return CheckOutcome("error", NO_CHECK, evidence("", None, None, [NO_CHECK]))
    box: list[CheckOutcome] = []
    worker = threading.Thread(
        target=lambda: box.append(run_check(check["kind"], check.get("params", {}), env, context)),
        name=f"check-{item['id']}",
        daemon=True,  # abandoned on cancel: its queries end by their statement timeout
    )
    worker.start()
    while worker.is_alive():
        worker.join(0.1)
        if worker.is_alive() and (reason := watch.reason()):
            raise watch.error(reason)
    if not box:  # run_check never raises; this would be a BaseException in the thread
        return CheckOutcome("error", "the check stopped abruptly", evidence("", None, None, []))
    return box[0]
