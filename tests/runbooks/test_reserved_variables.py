"""Runbook variables that would change which code a step runs are refused where they are written."""

from __future__ import annotations

import pytest

from tests.runbooks.samples import VALID_RUNBOOK
from tests.runbooks.test_commands import run, run_failing

VARIABLES = "    variables: {PGHOST: db.staging.internal}\n"


def with_variable(name: str, value: str = "x") -> str:
    assert VALID_RUNBOOK.count(VARIABLES) == 1
    return VALID_RUNBOOK.replace(
        VARIABLES, f"    variables:\n      PGHOST: db.staging.internal\n      {name}: {value}\n"
    )


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("PATH", "Ripcord sets it (it decides which programs a step runs)"),
        ("HOME", "Ripcord sets it (to the run's working folder)"),
        ("LD_PRELOAD", "LD_* variables make the dynamic loader load other code"),
        ("LD_LIBRARY_PATH", "LD_* variables make the dynamic loader load other code"),
        ("BASH_ENV", "bash runs the file it names before the script"),
        ("ENV", "sh runs the file it names before the script"),
        ("SHELLOPTS", "it turns on shell options (xtrace prints every command) in the script"),
        ("BASHOPTS", "it turns on shell options (xtrace prints every command) in the script"),
        ("PS4", "bash expands it, running any command in it, before each traced line"),
        ("IFS", "it changes how the shell splits words"),
        ("PYTHONPATH", "it makes Python import other code"),
        ("RIPCORD_STEP", "RIPCORD_* names are Ripcord's own (and pass every step's env list)"),
    ],
)
def test_check_runbook_refuses_a_reserved_variable_name_where_written(
    write_runbook, line_of, name, reason
):
    text = with_variable(name)
    path = write_runbook(text)

    err = run_failing("check_runbook", path)

    assert err == (
        f"{path}:{line_of(text, f'{name}: x')}: environments[0].variables.{name}: "
        f"{name!r} may not be set by a runbook: {reason}\n"
    )


def test_check_runbook_refuses_a_reserved_name_for_a_secret(write_runbook, line_of):
    text = VALID_RUNBOOK.replace("PGPASSWORD: {env:", "LD_AUDIT: {env:").replace(
        "env: [PGHOST, PGPASSWORD]", "env: [PGHOST]"
    )
    path = write_runbook(text)

    err = run_failing("check_runbook", path)

    assert err == (
        f"{path}:{line_of(text, 'LD_AUDIT:')}: environments[0].secrets.LD_AUDIT: "
        "'LD_AUDIT' may not be set by a runbook: "
        "LD_* variables make the dynamic loader load other code\n"
    )


def test_ordinary_names_that_merely_resemble_reserved_ones_pass(write_runbook):
    path = write_runbook(with_variable("PGPATH"))

    out, err = run("check_runbook", path)

    assert (out.startswith("OK "), err) == (True, "")
