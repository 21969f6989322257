"""The seed plan (shared/mission/rollback-plan-MIG-002.md) imported, against the hand-written MIG-002.

What issue 10 asks of it is asserted; how the import differs from the runbook a
person wrote from the same plan is printed (past pytest's capture), so the
difference is on the record of every run rather than hidden in a threshold.
"""

from __future__ import annotations

import pytest
from django.core.management import call_command

from runbooks.importers.files import read_runbook_file
from runbooks.importers.markdown import Imported, import_markdown
from runbooks.specs import INCIDENT_COMMANDER, RunbookSpec, StepKind
from tests.runbooks.markdown.paths import MIG002, PLAN

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def imported() -> Imported:
    return import_markdown(PLAN.read_bytes(), path=str(PLAN), runbook_id="mig-002")


def plan_blocks(language: str) -> list[str]:
    """The plan's fenced blocks of ``language``, cut out of the text by hand (not by the importer)."""
    text = PLAN.read_text()
    blocks = []
    for chunk in text.split(f"```{language}\n")[1:]:
        blocks.append(chunk.split("\n```")[0] + "\n")
    return blocks


def test_four_phases_with_the_plans_budgets(imported):
    windows = [(p.title, p.starts_at_minutes, p.ends_at_minutes) for p in imported.spec.phases]
    assert windows == [
        ("Immediate service preservation", 0, 15),
        ("Data rollback", 15, 60),
        ("System restoration", 60, 120),
        ("Validation and monitoring", 120, 240),
    ]


def test_at_least_twenty_steps_all_owned_by_a_role_of_the_runbook(imported):
    spec = imported.spec
    steps = spec.all_steps()
    assert len(steps) >= 20
    assert {step.owner for step in steps} <= spec.role_ids
    assert {role.title for role in spec.roles} == {
        "System Administrator",
        "Backend Engineer",
        "Frontend Engineer",
        "DevOps Engineer",
        "Product Manager",
    }


def test_the_two_scripts_are_shell_steps_with_the_plans_blocks_byte_for_byte(imported):
    shell = [step for step in imported.spec.all_steps() if step.kind == StepKind.SHELL]
    scripts = [imported.scripts[step.command["script"]] for step in shell]
    assert [step.command["script"] for step in shell] == [
        "scripts/rollback_database.sh",
        "scripts/rollback_application.sh",
    ]
    assert scripts == plan_blocks("bash")
    # Imported code is untrusted until reviewed.
    assert all(step.approval == INCIDENT_COMMANDER for step in shell)


def test_every_other_block_of_the_plan_is_there(imported):
    spec = imported.spec
    counts = {
        name: len(getattr(spec, name))
        for name in (
            "triggers",
            "safeguards",
            "validations",
            "success_criteria",
            "communications",
            "post_actions",
            "contacts",
        )
    }
    # 4 database backups + 4 feature flags + 4 pre-implementation tests; 3 x 3 data checks.
    assert counts == {
        "triggers": 5,
        "safeguards": 12,
        "validations": 9,
        "success_criteria": 5,
        "communications": 8,
        "post_actions": 5,
        "contacts": 4,
    }
    rules = {t.description: (t.rule.comparison, t.rule.threshold) for t in spec.triggers if t.rule}
    assert rules == {
        "Critical system failures affecting >5% of users": (">", 0.05),
        "Performance degradation >50% from baseline": (">", 0.5),
        ">10% of API requests failing": (">", 0.1),
    }
    assert {c.audience for c in spec.communications} == {"internal", "external"}


def test_the_command_writes_a_folder_check_runbook_accepts(tmp_path, capsys):
    out = tmp_path / "mig-002"
    call_command("import_runbook", str(PLAN), out=str(out), runbook_id="mig-002-imported")
    printed = capsys.readouterr().out
    assert "phases: 4" in printed
    assert "2 scripted step(s) require the incident commander's approval" in printed
    call_command("check_runbook", str(out))
    on_disk = [
        (out / "scripts" / name).read_bytes()
        for name in ("rollback_database.sh", "rollback_application.sh")
    ]
    assert on_disk == [block.encode() for block in plan_blocks("bash")]


# --- what differs from the hand-written MIG-002 ------------------------------------


def _key(title: str) -> str:
    return " ".join(title.lower().replace("-", " ").split())


def differences(imported: RunbookSpec, written: RunbookSpec) -> tuple[list[str], dict[str, int]]:
    """Lines saying what differs, and the tallies the test asserts on."""
    lines: list[str] = []
    written_steps = {_key(s.title): (p.id, s) for p in written.phases for s in p.steps}
    imported_steps = {_key(s.title): (p.id, s) for p in imported.phases for s in p.steps}
    phase_of = {p.id: i for i, p in enumerate(written.phases)}
    imported_phase = {p.id: i for i, p in enumerate(imported.phases)}
    same_phase = same_owner = same_kind = 0
    for key, (phase, step) in written_steps.items():
        if key not in imported_steps:
            lines.append(
                f"only hand-written: step {step.title!r} ({step.kind.value}, {step.owner})"
            )
            continue
        other_phase, other = imported_steps[key]
        same_phase += phase_of[phase] == imported_phase[other_phase]
        same_owner += step.owner == other.owner
        same_kind += step.kind == other.kind
        if step.owner != other.owner:
            lines.append(
                f"owner of {step.title!r}: hand-written {step.owner}, imported {other.owner}"
            )
        if step.kind != other.kind:
            lines.append(
                f"kind of {step.title!r}: hand-written {step.kind.value}, imported {other.kind.value}"
            )
    for key, (_, step) in imported_steps.items():
        if key not in written_steps:
            lines.append(f"only imported: step {step.title!r} ({step.kind.value}, {step.owner})")
    for name in (
        "triggers",
        "safeguards",
        "validations",
        "success_criteria",
        "communications",
        "post_actions",
        "contacts",
    ):
        mine, theirs = getattr(imported, name), getattr(written, name)
        checked = sum(
            1 for item in theirs if getattr(item, "check", None) or getattr(item, "rule", None)
        )
        lines.append(
            f"{name}: imported {len(mine)}, hand-written {len(theirs)} ({checked} with a machine check or rule)"
        )
    lines.append(
        "requires: hand-written "
        f"{sum(len(s.requires) for s in written.all_steps())}, imported {sum(len(s.requires) for s in imported.all_steps())}"
    )
    matched = sum(1 for key in written_steps if key in imported_steps)
    tallies = {
        "matched": matched,
        "same_phase": same_phase,
        "same_owner": same_owner,
        "same_kind": same_kind,
    }
    return lines, tallies


def test_compared_with_the_hand_written_mig002(imported, capsys):
    written = read_runbook_file(MIG002).spec
    lines, tallies = differences(imported.spec, written)
    total = len(written.all_steps())
    with capsys.disabled():
        print(
            f"\n    seed plan import vs hand-written MIG-002 ({total} hand-written steps): {tallies}"
        )
        for line in lines:
            print(f"      {line}")
    # Every step the person wrote from the plan's procedure lists is found, in the same phase;
    # owners and kinds are judgement (and scripts the person attached to steps), so they are shown.
    assert tallies["matched"] >= total - 2
    assert tallies["same_phase"] == tallies["matched"]
    assert tallies["same_owner"] * 2 >= tallies["matched"]
