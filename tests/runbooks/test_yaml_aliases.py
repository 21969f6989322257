"""YAML that is small on disk and huge (or endless) once read, and text PostgreSQL cannot store.

Both commands share the parser, so the billion-laughs document is refused by
``check_runbook`` and by ``load_runbooks`` alike: each runs in a child process
with its address space capped, so a regression fails fast instead of eating the
machine's memory.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import time
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from runbooks.importers.problems import Problem, RunbookError
from runbooks.importers.yaml import parse_runbook
from runbooks.models import Runbook
from tests.runbooks.samples import VALID_RUNBOOK

FIRST_STEP = "      - id: stop_writes\n        title: Stop writes\n        owner: dba\n"
MAX_ALIAS_NODES = 100_000
MEMORY_CAP = 768 * 1024 * 1024  # a Django command needs ~400 MB of address space here


def with_json_step(json_lines: str) -> str:
    """VALID_RUNBOOK whose first step is an http step with the given ``json:`` body."""
    step = (
        FIRST_STEP
        + "        kind: http\n        command:\n          method: POST\n"
        + "          url: http://127.0.0.1:9/hook\n          json:\n"
        + json_lines
    )
    assert VALID_RUNBOOK.count(FIRST_STEP) == 1
    return VALID_RUNBOOK.replace(FIRST_STEP, step)


# The classic "billion laughs": ten levels of ten aliases, 10**9 strings once expanded.
LAUGHS = (
    "            lol0: &lol0 ["
    + ", ".join(["lol"] * 10)
    + "]\n"
    + "".join(
        f"            lol{n}: &lol{n} [" + ", ".join([f"*lol{n - 1}"] * 10) + "]\n"
        for n in range(1, 10)
    )
)
BOMB = with_json_step(LAUGHS)


def problems_of(text: str) -> list[Problem]:
    with pytest.raises(RunbookError) as caught:
        parse_runbook(text, path="rb.yaml")
    return caught.value.problems


def test_billion_laughs_is_refused_at_the_alias_that_crosses_the_bound(line_of):
    started = time.monotonic()

    [problem] = problems_of(BOMB)

    assert time.monotonic() - started < 5
    # lol0..lol3 add 12,330 values; the 8th of lol4's aliases to lol3 crosses 100,000.
    assert (problem.line, problem.field) == (
        line_of(BOMB, "lol4: &lol4"),
        "phases[0].steps[0].command.json.lol4[7]",
    )
    assert problem.message == (
        f"YAML aliases here expand the file past {MAX_ALIAS_NODES:,} values "
        "(an alias bomb?); write the values out, or alias less"
    )


def _in_capped_child(*args: str) -> subprocess.CompletedProcess[str]:
    db = connection.settings_dict
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.test_settings",
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "SECRET_KEY": "test",
    }

    def cap() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))

    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=settings.BASE_DIR, env=env, preexec_fn=cap,
        capture_output=True, text=True, timeout=90, check=False,
    )  # fmt: skip


@pytest.mark.timeout(240)
@pytest.mark.django_db(transaction=True)  # the child process must see the migrated test database
@pytest.mark.parametrize("command", ["check_runbook", "load_runbooks"])
def test_billion_laughs_is_refused_by_both_commands_in_bounded_memory(
    command, write_runbook, line_of
):
    path = write_runbook(BOMB)

    done = _in_capped_child(command, str(path))

    assert done.returncode == 1, done.stderr[-2000:]
    assert done.stderr.startswith(
        f"{path}:{line_of(BOMB, 'lol4: &lol4')}: phases[0].steps[0].command.json.lol4[7]: "
        "YAML aliases here expand the file past"
    ), done.stderr[-2000:]
    assert Runbook.objects.count() == 0


def test_alias_to_a_node_that_contains_it_is_refused(line_of):
    text = with_json_step("            loop: &loop [a, *loop]\n")

    [problem] = problems_of(text)

    assert (problem.line, problem.field) == (
        line_of(text, "loop: &loop"),
        "phases[0].steps[0].command.json.loop[1]",
    )
    assert problem.message == "a YAML alias here refers to a value that contains it"


def test_a_few_aliases_are_still_fine():
    text = with_json_step("            a: &a {x: 1, y: [1, 2, 3]}\n            b: [*a, *a, *a]\n")

    spec = parse_runbook(text, path="rb.yaml").spec

    json = spec.phases[0].steps[0].command["json"]
    assert json["b"] == [json["a"]] * 3


@pytest.mark.parametrize(
    ("written", "message"),
    [
        ('"a\\0b"', "contains a NUL character (U+0000), which cannot be stored"),
        ('"a\\x00b"', "contains a NUL character (U+0000), which cannot be stored"),
        ('"a\\ud800b"', "contains a lone surrogate (U+D800), which is not text"),
    ],
)
def test_escaped_text_that_cannot_be_stored_is_refused_where_written(written, message, line_of):
    text = with_json_step(f"            note: {written}\n")

    [problem] = problems_of(text)

    assert (problem.line, problem.field) == (
        line_of(text, "note: "),
        "phases[0].steps[0].command.json.note",
    )
    assert problem.message == message


def test_escaped_nul_in_a_key_is_refused_where_written(line_of):
    text = with_json_step('            "a\\0b": 1\n')

    [problem] = problems_of(text)

    assert problem.line == line_of(text, '"a\\0b": 1')
    assert problem.message == "contains a NUL character (U+0000), which cannot be stored"


def test_binary_values_are_refused_where_written(line_of):
    text = with_json_step("            blob: !!binary AAE=\n")

    [problem] = problems_of(text)

    assert (problem.line, problem.field) == (
        line_of(text, "blob: !!binary"),
        "phases[0].steps[0].command.json.blob",
    )
    assert problem.message == "binary (!!binary) values are not accepted; write text"


@pytest.mark.django_db
def test_load_runbooks_refuses_a_nul_in_a_title_and_saves_nothing(write_runbook, line_of):
    text = VALID_RUNBOOK.replace("title: First\n", 'title: "Fir\\0st"\n')
    path = write_runbook(text)
    err = StringIO()

    with pytest.raises(CommandError):  # before: DataError, from PostgreSQL's jsonb
        call_command("load_runbooks", str(path), stdout=StringIO(), stderr=err)

    assert err.getvalue() == (
        f"{path}:{line_of(text, 'Fir')}: phases[0].title: "
        "contains a NUL character (U+0000), which cannot be stored\n"
    )
    assert Runbook.objects.count() == 0
