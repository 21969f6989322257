"""The validation executor: one line per check, an outcome with every check's evidence."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import pytest

from runbooks.checks import FAMILIES, CheckOutcome
from runbooks.executors import get_executor
from runbooks.executors.base import Execution, ExecutorError, StepCancelled
from tests.executors.conftest import Lines
from validation.executor import NO_CHECK, ValidationExecutor, command_for


class Scripted:
    """A family whose outcome is the check's params: {"result": ..., "sleep": seconds}."""

    kind = "scripted"

    def validate(self, params: Mapping[str, Any]) -> list[str]:
        return [] if params.get("result") in ("pass", "fail", "error") else ["scripted: 'result'"]

    def run(self, params, env, context) -> CheckOutcome:
        time.sleep(params.get("sleep", 0))
        return CheckOutcome(
            params["result"],
            f"it went {params['result']}",
            {"differences": [] if params["result"] == "pass" else ["d1"]},
        )


@pytest.fixture(autouse=True)
def scripted(monkeypatch):
    monkeypatch.setitem(FAMILIES, "scripted", Scripted())


def item(key: str, result: str | None, **params: Any) -> dict[str, Any]:
    check = {"kind": "scripted", "params": {"result": result, **params}} if result else None
    return {"id": key, "title": key.title(), "family": "f", "check": check}


def execute(command, tmp_path, should_stop=lambda: False, timeout=30):
    lines = Lines()
    execution = Execution(
        run_id=1, command=command, env={}, workdir=tmp_path, timeout_seconds=timeout
    )
    outcome = ValidationExecutor().run(execution, emit=lines, should_stop=should_stop)
    return outcome, lines


def test_executor_is_registered_lazily_as_validation():
    assert isinstance(get_executor("validation"), ValidationExecutor)


def test_executor_succeeds_when_every_check_passes(tmp_path):
    outcome, lines = execute({"checks": [item("a", "pass"), item("b", "pass")]}, tmp_path)
    assert outcome.succeeded and outcome.summary == "all 2 checks passed"
    assert lines == [
        "PASS a — it went pass",
        "PASS b — it went pass",
        "[ripcord] all 2 checks passed",
    ]
    [first, _] = outcome.evidence["checks"]
    assert first["id"] == "a" and first["result"] == "pass" and first["kind"] == "scripted"
    assert first["checked_at"].endswith("+00:00")


def test_executor_fails_naming_checks_that_did_not_pass(tmp_path):
    checks = [item("a", "pass"), item("b", "fail"), item("c", "error"), item("d", None)]
    outcome, lines = execute({"checks": checks}, tmp_path)
    assert not outcome.succeeded
    assert outcome.summary == "3 of 4 checks did not pass: b, c, d"
    assert "FAIL b — it went fail" in lines and "    d1" in lines
    assert f"ERROR d — {NO_CHECK}" in lines


def test_executor_stops_when_cancelled_during_a_slow_check(tmp_path):
    started = time.monotonic()
    asked = []

    def should_stop() -> bool:
        asked.append(time.monotonic())
        return len(asked) > 2

    with pytest.raises(StepCancelled):
        execute({"checks": [item("slow", "pass", sleep=5)]}, tmp_path, should_stop=should_stop)
    assert time.monotonic() - started < 3


def test_executor_validates_commands():
    executor = ValidationExecutor()
    assert executor.validate({}) == []  # the runbook's steps carry none: it is built at run time
    assert executor.validate({"checks": [item("a", "pass")]}) == []
    assert executor.validate({"checks": []}) == ["validation: 'checks' must be a non-empty list"]
    assert executor.validate({"checks": [item("a", "maybe")]}) == [
        "validation: a: scripted: 'result'"
    ]


def test_executor_refuses_to_run_nothing(tmp_path):
    with pytest.raises(ExecutorError, match="no checks to run"):
        execute({}, tmp_path)


def test_command_for_keeps_the_step_order_and_the_snapshot(mig002):
    command = command_for(mig002, ["login_works", "user_accounts_exist"], {"tables": {}})
    assert [c["id"] for c in command["checks"]] == ["login_works", "user_accounts_exist"]
    assert command["checks"][1]["check"]["kind"] == "snapshot"
    assert command["snapshot"] == {"tables": {}}
    with pytest.raises(ExecutorError, match="no validation 'nope'"):
        command_for(mig002, ["nope"], None)


def test_executor_runs_the_other_checks_when_one_has_bad_params(tmp_path):
    outcome, lines = execute({"checks": [item("a", "maybe"), item("b", "pass")]}, tmp_path)
    assert [c["result"] for c in outcome.evidence["checks"]] == ["error", "pass"]
    assert lines[0] == "ERROR a — scripted: 'result'"
