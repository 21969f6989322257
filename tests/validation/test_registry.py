"""The family registry: every kind reachable, unknown kinds refused, nothing raised by run_check."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

from runbooks.checks import (
    FAMILIES,
    CheckContext,
    CheckOutcome,
    kinds,
    register,
    run_check,
    validate_check,
)

EVERY_KIND = ["backup", "flag", "http", "login", "marker", "snapshot", "sql"]


def test_registry_serves_every_family_validation_and_safeguard():
    assert kinds() == EVERY_KIND
    assert all(FAMILIES[kind].kind == kind for kind in kinds())


def test_registry_refuses_unknown_kinds():
    [problem] = validate_check("nosuch", {})
    assert problem == f"no check family runs 'nosuch' checks (families: {', '.join(EVERY_KIND)})"
    outcome = run_check("nosuch", {}, {}, CheckContext())
    assert outcome.result == "error" and outcome.evidence["differences"] == [problem]


def test_registry_turns_a_crashing_family_into_an_error(monkeypatch):
    class Crashing:
        kind = "crash"

        def validate(self, params: Mapping[str, Any]) -> list[str]:
            return []

        def run(self, params, env, context) -> CheckOutcome:
            raise ZeroDivisionError("boom")

    monkeypatch.setitem(FAMILIES, "crash", Crashing())
    outcome = run_check("crash", {}, {}, CheckContext())
    assert (outcome.result, outcome.summary) == (
        "error",
        "crash check crashed: ZeroDivisionError: boom",
    )


def test_register_refuses_a_family_declaring_another_kind():
    with pytest.raises(ValueError, match="registered as 'other'"):

        @register("other")
        class Mislabelled:
            kind = "sql"

            def validate(self, params: Mapping[str, Any]) -> list[str]:
                return []

            def run(self, params, env, context) -> CheckOutcome:
                return CheckOutcome("pass", "")

    assert "other" not in FAMILIES
