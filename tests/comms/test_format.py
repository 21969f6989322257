"""The runbook format's communication blocks, through check_runbook (no database)."""

from __future__ import annotations

import re
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from runbooks.communication import parse_template, template_problems
from runbooks.specs import RunbookSpec

MIG_002 = Path(settings.BASE_DIR) / "runbooks" / "library" / "mig-002" / "runbook.yaml"


def check(tmp_path: Path, edit) -> str:
    """check_runbook's complaint about MIG-002 changed by ``edit`` (text -> text)."""
    folder = tmp_path / "rb"
    folder.mkdir()
    (folder / "scripts").symlink_to(MIG_002.parent / "scripts")
    text = MIG_002.read_text()
    changed = edit(text)
    assert changed != text, "the edit matched nothing"
    (folder / "runbook.yaml").write_text(changed)
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("check_runbook", str(folder / "runbook.yaml"), stdout=StringIO(), stderr=err)
    return err.getvalue()


def line_of(text: str, needle: str) -> int:
    return text[: text.index(needle)].count("\n") + 1


def test_unknown_placeholder_is_located_at_its_template(tmp_path):
    needle = "Next update by {next_update}."
    err = check(tmp_path, lambda t: t.replace(needle, "Next update by {next_updte}."))
    line = line_of(MIG_002.read_text(), needle)
    assert re.search(
        rf"runbook.yaml:{line}: communications\[4\].template: unknown placeholder \{{next_updte\}}",
        err,
    ), err


def test_talking_points_placeholders_are_checked(tmp_path):
    err = check(tmp_path, lambda t: t.replace("When it ends: {eta}.", "When: {eta.__class__}."))
    assert "talking_points: template: placeholder {eta.__class__} must be a plain name" in err


def test_an_item_naming_an_undeclared_destination_is_located(tmp_path):
    err = check(tmp_path, lambda t: t.replace("destinations: [on_call]", "destinations: [pager]"))
    assert (
        "communications[2].destinations[0]: destination 'pager' is not declared in "
        "environment(s) demo, staging, production"
    ) in err


def test_a_destination_address_is_a_secret_reference_never_a_url(tmp_path):
    err = check(
        tmp_path,
        lambda t: t.replace(
            "url: env:RIPCORD_DEMO_ALERTS_WEBHOOK", "url: https://hooks.example/T000/SECRET", 1
        ),
    )
    assert "environments[0].destinations[0].url: String should match pattern '^env:" in err


@pytest.mark.parametrize(
    ("template", "problem"),
    [
        ("{phase}", None),
        ("{{literal}} {phase}", None),
        ("{eta:>999999}", "must be a plain name"),
        ("{phase!r}", "must be a plain name"),
        ("{0}", "must be a plain name"),
        ("{phase", "template:"),
        ("{nope}", "unknown placeholder {nope}"),
    ],
)
def test_templates(template, problem):
    problems = template_problems(template)
    if problem is None:
        assert problems == []
        parse_template(template)
    else:
        assert len(problems) == 1 and problem in problems[0], problems


def test_viewers_spec_carries_no_destinations():
    from runbooks.importers.yaml import parse_runbook

    spec: RunbookSpec = parse_runbook(MIG_002.read_text(), path=str(MIG_002)).spec
    assert all(env.destinations for env in spec.environments)
    assert not any(env.destinations for env in spec.without_details().environments)
