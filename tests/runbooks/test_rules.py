"""Trigger rules (runbooks.rules): located errors in check_runbook, and the Prometheus export."""

from __future__ import annotations

import shutil
import subprocess
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from runbooks.rules import TriggerRule, promql_problem

pytestmark = pytest.mark.timeout(60)

MIG_002 = Path(settings.BASE_DIR) / "runbooks" / "library" / "mig-002" / "runbook.yaml"
PROMTOOL = shutil.which("promtool")
needs_promtool = pytest.mark.skipif(
    PROMTOOL is None, reason="promtool missing: bin/setup --dev installs Debian's prometheus"
)


def _broken_copy(tmp_path: Path, old: str, new: str) -> tuple[Path, int]:
    folder = tmp_path / "mig-002"
    shutil.copytree(MIG_002.parent, folder)
    text = MIG_002.read_text()
    # Whole lines only: "      min_samples: 200" is also the tail of a deeper-indented line.
    assert text.count("\n" + old) == 1
    text = text.replace("\n" + old, "\n" + new)
    (folder / "runbook.yaml").write_text(text)
    return folder / "runbook.yaml", text[: text.index("\n" + new) + 1].count("\n") + 1


@pytest.mark.parametrize(
    ("old", "new", "field", "words"),
    [
        (
            "      no_data: fire\n      mode: propose\n",
            "      no_data: fire\n      !mode: automatic\n",
            "triggers[4].rule.mode",
            "'shadow' or 'propose'",
        ),
        (
            '      samples_query: sum(increase(http_requests_total{job="todo-api"}[5m]))\n',
            '      !samples_query: sum(increase(http_requests_total{job="todo-api"}[5m])\n',
            "triggers[4].rule.samples_query",
            "PromQL has an unclosed '('",
        ),
        (
            "      min_samples: 200\n",
            "      !min_samples: 0\n",
            "triggers[2].rule.min_samples",
            "greater than or equal to 1",
        ),
        (
            "      no_data: fire\n",
            "      !no_data: sometimes\n",
            "triggers[4].rule.no_data",
            "'inconclusive' or 'fire'",
        ),
    ],
)
def test_check_runbook_locates_a_broken_rule(tmp_path, old, new, field, words):
    # "!" marks the broken line of the replacement.
    marked = new.index("!")
    path, first_line = _broken_copy(tmp_path, old, new.replace("!", ""))
    line = first_line + new[:marked].count("\n")
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_runbook", str(path), stdout=StringIO(), stderr=err)

    first = err.getvalue().splitlines()[0]
    assert first.startswith(f"{path}:{line}: {field}: "), first
    assert words in first


@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ("sum(rate(x[5m])", "has an unclosed '('"),
        ("sum(rate(x[5m)))", "has an unmatched ')'"),
        ('x{job="a)}', "has an unterminated string"),
        ("  ", "is empty"),
        ("x\x00", "contains a control character"),
        ('sum(rate(x{a="(("}[5m]))', None),
    ],
)
def test_promql_check_catches_what_an_edit_breaks(query, problem):
    assert promql_problem(query) == problem


def test_older_no_data_spelling_still_reads_as_inconclusive():
    rule = TriggerRule(source="prometheus", query="up", threshold=1, no_data="ignore")
    assert rule.no_data == "inconclusive" and rule.mode == "propose"


def test_a_prometheus_rule_without_threshold_is_refused_in_a_file_but_read_when_stored(tmp_path):
    old = '      comparison: ">"\n      threshold: 1.5\n'
    path, _ = _broken_copy(tmp_path, old, '      comparison: ">"\n')
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_runbook", str(path), stdout=StringIO(), stderr=err)
    assert err.getvalue().startswith(f"{path}:")
    assert "triggers[2].rule: a prometheus rule needs 'threshold'" in err.getvalue()

    stored = TriggerRule(source="prometheus", query="up")  # an older stored version
    assert not stored.evaluable


def _export(*args: str) -> str:
    out = StringIO()
    call_command("export_alert_rules", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@needs_promtool
def test_exported_rules_pass_promtool(tmp_path):
    target = tmp_path / "mig-002.rules.yml"
    call_command("export_alert_rules", str(MIG_002), "--output", str(target), stdout=StringIO())

    assert PROMTOOL is not None
    checked = subprocess.run(
        [PROMTOOL, "check", "rules", str(target)], capture_output=True, text=True, timeout=30
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "SUCCESS: 4 rules found" in checked.stdout

    group = yaml.safe_load(target.read_text())["groups"][0]
    by_alert = {(r["alert"], "ripcord_no_data" in r["labels"]): r for r in group["rules"]}
    api = by_alert["api_errors", False]
    # The plan's threshold, and the sample floor, are both in the exported expression.
    assert "> 0.1\nand on() (sum(increase(http_requests_total" in api["expr"]
    assert api["expr"].endswith(">= 100")
    assert api["for"] == "5m" and api["labels"]["ripcord_runbook"] == "mig-002"
    # no_data: fire exports an absent() alert of its own.
    assert by_alert["api_errors", True]["expr"].startswith("absent(")


@pytest.mark.django_db
def test_export_by_runbook_id_from_the_database():
    call_command("load_runbooks", str(MIG_002), stdout=StringIO(), stderr=StringIO())

    text = _export("mig-002")

    assert text.startswith("# Generated by Ripcord from runbook mig-002")
    assert [r["alert"] for r in yaml.safe_load(text)["groups"][0]["rules"]] == [
        "users_affected",
        "performance_degradation",
        "api_errors",
        "api_errors",
    ]


@pytest.mark.django_db
def test_export_of_an_unknown_runbook_is_a_clear_error():
    with pytest.raises(CommandError, match="no runbook 'nope' is loaded"):
        _export("nope")
