"""Hostile documents import, or fail with ``file:line: message``, in bounded time, writing nothing outside --out.

Each test runs the real command on a file in ``tmp_path`` and compares the whole
of ``tmp_path`` before and after: only ``--out`` may change. Time is bounded by
each test's timeout; memory is measured in bench/import_markdown.py.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.core.management import call_command
from django.core.management.base import CommandError

from runbooks.importers.markdown.builder import MAX_STEPS
from runbooks.importers.markdown.source import MAX_LINES
from runbooks.importers.markdown.tokens import MAX_LIST_ITEMS
from tests.runbooks.markdown.paths import PLAN


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str
    source: Path
    out: Path


def files_under(root: Path) -> set[Path]:
    return set(root.rglob("*"))


def run_import(tmp_path: Path, data: bytes, name: str = "doc.md") -> Run:
    source = tmp_path / "in" / name
    source.parent.mkdir(exist_ok=True)
    source.write_bytes(data)
    out = tmp_path / "out"
    before = files_under(tmp_path)
    stdout, stderr = io.StringIO(), io.StringIO()
    try:
        call_command("import_runbook", str(source), out=str(out), stdout=stdout, stderr=stderr)
        code = 0
    except CommandError as exc:
        code = exc.returncode
    outside = {p for p in files_under(tmp_path) - before if not p.is_relative_to(out)}
    assert not outside, f"written outside --out: {sorted(outside)}"
    return Run(code, stdout.getvalue(), stderr.getvalue(), source, out)


def assert_refused(run: Run, line: int, message: str) -> None:
    assert run.code == 1
    assert run.stderr.splitlines()[0] == f"{run.source}:{line}: {message}"
    assert not run.out.exists(), "a failed import leaves nothing"


def loaded(run: Run) -> dict[str, Any]:
    assert run.code == 0, run.stderr
    call_command("check_runbook", str(run.out), stdout=io.StringIO())
    return yaml.safe_load((run.out / "runbook.yaml").read_text())


@pytest.mark.timeout(180)
def test_a_five_megabyte_document_imports(tmp_path):
    prose = (
        "Background prose about the service, its history and its quirks. " * 30 + "\n\n"
    ) * 2600
    data = PLAN.read_bytes() + b"\n## Notes\n\n" + prose.encode()
    assert len(data) >= 5_000_000
    spec = loaded(run_import(tmp_path, data))
    assert len(spec["phases"]) == 4


@pytest.mark.timeout(60)
def test_five_megabytes_of_short_lines_are_refused_at_the_line_limit(tmp_path):
    data = b"word\n" * 1_100_000
    assert_refused(
        run_import(tmp_path, data), MAX_LINES + 1, f"the file is longer than {MAX_LINES} lines"
    )


@pytest.mark.timeout(60)
def test_ten_thousand_list_items_stop_at_the_item_limit(tmp_path):
    head = "# Plan\n\n## Steps\n\n"
    data = (head + "".join(f"- [ ] Check item {i}\n" for i in range(10_000))).encode()
    first_refused = head.count("\n") + MAX_LIST_ITEMS + 1
    message = f"more than {MAX_LIST_ITEMS} list items"
    assert_refused(run_import(tmp_path, data), first_refused, message)


@pytest.mark.timeout(60)
def test_more_steps_than_the_limit_are_refused_at_the_first_one_too_many(tmp_path):
    head = "# Plan\n\n## Steps\n\n"
    data = (head + "".join(f"{i}. Check item {i}\n" for i in range(1, 1500))).encode()
    first_refused = head.count("\n") + MAX_STEPS + 1
    assert_refused(run_import(tmp_path, data), first_refused, f"more than {MAX_STEPS} steps")


@pytest.mark.timeout(60)
def test_lists_nested_a_thousand_deep_are_refused(tmp_path):
    data = "# Plan\n\n" + "".join("  " * depth + "- Check it\n" for depth in range(1000))
    run = run_import(tmp_path, data.encode())
    assert run.code == 1
    where, _, message = run.stderr.splitlines()[0].rpartition(": ")
    assert where.startswith(f"{run.source}:")
    assert message == "lists or quotes nested too deep (more than 16 levels)"
    assert not run.out.exists()


@pytest.mark.timeout(30)
def test_a_nul_byte_is_refused_at_its_line(tmp_path):
    data = b"# Plan\n\n1. Stop writes\n2. Restore\x00 the backup\n"
    assert_refused(run_import(tmp_path, data), 4, "NUL byte: the file is not text")


@pytest.mark.timeout(30)
def test_invalid_utf8_is_refused_at_its_line(tmp_path):
    data = b"# Plan\n\n1. Stop writes\n2. Restore \xff\xfe the backup\n"
    assert_refused(run_import(tmp_path, data), 4, "the file is not UTF-8 text")


@pytest.mark.timeout(60)
def test_crlf_line_ends_import_like_lf(tmp_path):
    (tmp_path / "lf").mkdir()
    (tmp_path / "crlf").mkdir()
    lf = loaded(run_import(tmp_path / "lf", PLAN.read_bytes()))
    crlf_run = run_import(tmp_path / "crlf", PLAN.read_bytes().replace(b"\n", b"\r\n"))
    assert loaded(crlf_run) == lf
    # Scripts get the block's lines with LF ends: a CR before each line end would break bash.
    script = (crlf_run.out / "scripts" / "rollback_database.sh").read_bytes()
    assert b"\r" not in script and script.startswith(b"#!/bin/bash\n")


HOSTILE_HTML = b"""# Plan <img src=x onerror="alert(1)">

<script>alert("block")</script>

## Steps

1. Click <b onclick="steal()">here</b> to **disable** writes
2. Run the <script>alert(2)</script> restore

```bash
# <script>alert(3)</script>.sh
echo '<script>alert(4)</script>'
```
"""


@pytest.mark.timeout(30)
def test_html_is_kept_as_text(tmp_path):
    spec = loaded(run := run_import(tmp_path, HOSTILE_HTML))
    titles = [step["title"] for phase in spec["phases"] for step in phase["steps"]]
    assert titles[:2] == [
        'Click <b onclick="steal()">here</b> to disable writes',
        "Run the <script>alert(2)</script> restore",
    ]
    assert spec["title"] == 'Plan <img src=x onerror="alert(1)">'
    [script] = (run.out / "scripts").iterdir()
    assert script.name == "script.sh"  # the last path component of the name, made safe
    assert (
        script.read_text() == "# <script>alert(3)</script>.sh\necho '<script>alert(4)</script>'\n"
    )


ESCAPING = b"""# Plan

## Steps

```bash
# ../../../escaped.sh
touch /tmp/never-run
```

```bash
# /etc/cron.daily/evil.sh
echo absolute
```

```sh
# ..\\\\..\\\\windows.sh
echo backslashes
```

```bash
# ....sh
echo dots
```
"""


@pytest.mark.timeout(30)
def test_block_names_never_lead_outside_the_folder(tmp_path):
    run = run_import(tmp_path, ESCAPING)
    spec = loaded(run)
    scripts = sorted(p.relative_to(run.out).as_posix() for p in (run.out / "scripts").iterdir())
    assert scripts == [
        "scripts/escaped.sh",
        "scripts/evil.sh",
        "scripts/run_sh.sh",
        "scripts/windows.sh",
    ]
    named = [s["command"]["script"] for p in spec["phases"] for s in p["steps"] if "command" in s]
    assert sorted(named) == scripts
    assert not Path("/tmp/never-run").exists()  # and nothing was executed


@pytest.mark.timeout(30)
def test_an_occupied_out_folder_is_refused_and_left_alone(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    run = run_import(tmp_path, PLAN.read_bytes())
    assert run.code == 1
    assert run.stderr.splitlines()[0] == f"{out}: exists and is not an empty folder"
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
