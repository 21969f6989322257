"""The shipped MIG-002 runbook against the plan it was written from.

Counts are read from shared/mission/rollback-plan-MIG-002.md by its headings,
bullets, numbered items and code blocks, so that an item dropped from (or added
to) either side fails here.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pytest
from django.conf import settings

from runbooks.importers.files import read_runbook_file
from runbooks.specs import StepKind

PLAN = Path(settings.BASE_DIR).parent / "shared" / "mission" / "rollback-plan-MIG-002.md"
RUNBOOK = Path(settings.BASE_DIR) / "runbooks" / "library" / "mig-002" / "runbook.yaml"


# Steps of the runbook that are not items of the plan: "Restart services" restarts the
# application (scripts/restart_services.sh, a script the plan does not give), so lifting
# the read-only mode "Stop all write operations" set is a step of its own.
NOT_IN_PLAN = {"lift_read_only"}
NOT_IN_PLAN_SCRIPTS = {"restart_services"}


@dataclass
class Section:
    level: int
    title: str
    lines: list[str] = field(default_factory=list)
    code_blocks: list[list[str]] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def bullets(self) -> list[str]:
        return [line[2:] for line in self.lines if line.startswith("- ")]

    def numbered(self) -> list[str]:
        return [
            re.sub(r"^\d+\.\s+", "", line) for line in self.lines if re.match(r"^\d+\.\s", line)
        ]

    def child(self, title: str) -> Section:
        [found] = [c for c in self.children if c.title == title]
        return found


def parse_plan(text: str) -> dict[str, Section]:
    """Top-level (``##``) sections by title, each with its ``###`` children."""
    sections: dict[str, Section] = {}
    current: Section | None = None
    block: list[str] | None = None
    for line in text.splitlines():
        if line.startswith("```"):
            if block is None:
                block = []
            else:
                assert current is not None
                current.code_blocks.append(block)
                block = None
        elif block is not None:
            block.append(line)  # "# comment" inside a script is not a heading
        elif match := re.match(r"^(#{2,3}) (.+)$", line):
            section = Section(len(match[1]), match[2].strip())
            if section.level == 2:
                sections[section.title] = section
            else:
                sections[list(sections)[-1]].children.append(section)
            current = section
        elif current is not None:
            current.lines.append(line.strip() if re.match(r"^\s*(-|\d+\.)\s", line) else line)
    return sections


def bold_title(item: str) -> str:
    """``**Disable new endpoints**: Return 503`` → ``Disable new endpoints``."""
    match = re.match(r"^\*\*(.+?)\*\*", item)
    return match[1] if match else item


def minutes(amount: str, unit: str) -> int:
    return int(amount) * (60 if unit.startswith("hour") else 1)


@pytest.fixture(scope="module")
def plan() -> dict[str, Section]:
    return parse_plan(PLAN.read_text())


@pytest.fixture(scope="module")
def spec():
    return read_runbook_file(RUNBOOK).spec


def test_mig_002_triggers_match_plan(plan, spec):
    assert [t.description for t in spec.triggers] == plan["Rollback Triggers"].bullets()
    assert sum(t.rule is not None for t in spec.triggers) >= 3  # the measurable ones


def test_mig_002_phases_match_plan_timeline(plan, spec):
    timeline = plan["Rollback Timeline"].bullets()
    windows = []
    for item in timeline:
        match = re.search(r"\((\d+)-(\d+) (minutes|hours)\)", item)
        assert match, item
        windows.append((minutes(match[1], match[3]), minutes(match[2], match[3])))

    assert [(p.starts_at_minutes, p.ends_at_minutes) for p in spec.phases] == windows


def test_mig_002_procedure_steps_match_plan(plan, spec):
    procedures = plan["Rollback Procedures"].children
    by_number = {int(section.title.split(".")[0]): section.numbered() for section in procedures}
    # Sections 1 and 2 are phases 1 and 2; application and frontend (3, 4) share phase 3.
    expected = [by_number[1], by_number[2], by_number[3] + by_number[4]]

    steps = [[s.title for s in phase.steps if s.id not in NOT_IN_PLAN] for phase in spec.phases[:3]]

    assert steps == [[bold_title(item) for item in section] for section in expected]
    assert sum(map(len, steps)) == sum(len(section.numbered()) for section in procedures)


def test_mig_002_scripts_are_shell_steps(plan, spec):
    blocks = [b for s in plan["Rollback Scripts"].children for b in s.code_blocks]
    named = sorted(
        line.lstrip("# ") for block in blocks for line in block if re.match(r"^# \w+\.sh$", line)
    )
    shell = [
        s for s in spec.all_steps() if s.kind == StepKind.SHELL and s.id not in NOT_IN_PLAN_SCRIPTS
    ]

    assert len(shell) == len(blocks)
    assert sorted(PurePosixPath(s.command["script"]).name for s in shell) == named
    assert all((RUNBOOK.parent / s.command["script"]).is_file() for s in shell)


def test_mig_002_safeguards_match_plan(plan, spec):
    categories = Counter(s.category for s in spec.safeguards)
    for section in plan["Pre-Migration Safeguards"].children:
        category = section.title.lower().replace(" ", "_")
        titles = [s.title for s in spec.safeguards if s.category == category]
        assert titles == section.bullets(), category
    testing = plan["Rollback Testing"].child("Pre-Implementation Testing").bullets()
    assert [s.title for s in spec.safeguards if s.category == "rollback_testing"] == testing
    assert sum(categories.values()) == len(testing) + sum(
        len(c.bullets()) for c in plan["Pre-Migration Safeguards"].children
    )


def test_mig_002_validations_match_plan(plan, spec):
    families = {"User Data Verification": "user_data", "Task Data Verification": "task_data",
                "Authentication Data Verification": "auth_data"}  # fmt: skip
    sections = plan["Data Validation After Rollback"].children
    for section in sections:
        titles = [v.title for v in spec.validations if v.family == families[section.title]]
        assert titles == section.bullets(), section.title
    data_checks = [v for v in spec.validations if v.family in families.values()]
    assert len(data_checks) == sum(len(s.bullets()) for s in sections)
    # Beyond the plan's data validations: smoke checks of the application, run only by
    # the post-rollback validation steps ("Test API endpoints and data consistency").
    smoke = [v for v in spec.validations if v.family not in families.values()]
    assert [(v.id, v.family, v.check and v.check.kind) for v in smoke] == [
        ("api_endpoints_answer", "application", "http")
    ]
    assert all(v.check is not None for v in spec.validations)
    used = {
        v for step in spec.all_steps() if step.kind == StepKind.VALIDATION for v in step.validations
    }
    assert used == {v.id for v in spec.validations}  # every check is run by a step
    last_phase = {v for step in spec.phases[-1].steps for v in step.validations}
    earlier = {v for phase in spec.phases[:-1] for step in phase.steps for v in step.validations}
    assert {v.id for v in smoke} <= last_phase - earlier


def test_mig_002_post_rollback_validation_is_last_phase(plan, spec):
    expected = plan["Rollback Testing"].child("Post-Rollback Validation").bullets()

    assert [s.title for s in spec.phases[-1].steps] == expected


def test_mig_002_success_criteria_match_plan(plan, spec):
    assert [c.title for c in spec.success_criteria] == plan[
        "Success Criteria for Rollback"
    ].bullets()
    assert all(c.validations or c.signoff for c in spec.success_criteria)


def test_mig_002_communications_match_plan(plan, spec):
    audiences = {"Internal Team": "internal", "External Communication": "external"}
    for section in plan["Communication Plan"].children:
        ours = [c for c in spec.communications if c.audience == audiences[section.title]]
        assert [c.description.split(":")[0] for c in ours] == [
            bold_title(b) for b in section.bullets()
        ]
    assert len(spec.communications) == len(
        [b for s in plan["Communication Plan"].children for b in s.bullets()]
    )


def test_mig_002_post_actions_match_plan(plan, spec):
    expected = [bold_title(item) for item in plan["Post-Rollback Actions"].numbered()]

    assert [a.title for a in spec.post_actions] == expected


def test_mig_002_contacts_match_plan(plan, spec):
    expected = [(bold_title(b), b.split(": ", 1)[1]) for b in plan["Contact Information"].bullets()]

    assert [(c.title, c.reach) for c in spec.contacts] == expected


def test_mig_002_roles_match_plan(plan, spec):
    expected = [b.split(": ", 1)[1] for b in plan["Rollback Team Responsibilities"].bullets()]

    assert [r.responsibility for r in spec.roles] == expected
    owners = {s.owner for s in spec.all_steps()}
    assert owners == {r.id for r in spec.roles} - {"product_manager"}


def test_mig_002_database_restore_is_gated_and_never_retried(spec):
    [restore] = [
        s for s in spec.all_steps() if s.command.get("script") == "scripts/rollback_database.sh"
    ]

    assert (restore.owner, restore.approval, restore.idempotent) == (
        "system_administrator",
        "incident_commander",
        False,
    )
    assert "stop_writes" in restore.requires
    assert spec.phases[1].steps.count(restore) == 1
    [production] = [e for e in spec.environments if e.is_production]
    assert production.secrets["PGPASSWORD"].env
