"""The importer's parts, one behaviour each: tokens, sections, words, names, phases."""

from __future__ import annotations

import pytest

from runbooks.importers.markdown import import_markdown
from runbooks.importers.markdown.ids import Keys, script_name
from runbooks.importers.markdown.kinds import (
    Kind,
    code_kind,
    heading_kind,
    is_instruction,
    time_window,
)
from runbooks.importers.markdown.sections import ItemList, build
from runbooks.importers.markdown.tokens import parse

pytestmark = pytest.mark.timeout(30)


def steps_of(text: str) -> list[tuple[int, str, str]]:
    imported = import_markdown(text.encode(), path="doc.md")
    return [(imported.step_lines[s.id], s.kind.value, s.title) for s in imported.spec.all_steps()]


@pytest.mark.parametrize(
    ("text", "window"),
    [
        ("Immediate service preservation (0-15 minutes)", (0, 15)),
        ("Data rollback (15\u201360 min)", (15, 60)),
        ("Validation and monitoring (2-4 hours)", (120, 240)),
        ("Phase 3 (60 to 120 mins)", (60, 120)),
        ("No window here", None),
        ("Backwards (30-10 min)", None),
    ],
)
def test_time_windows(text, window):
    found = time_window(text)
    assert (found[:2] if found else None) == window


@pytest.mark.parametrize(
    ("text", "told"),
    [
        ("Check the pods", True),
        ("**Disable new endpoints**: return 503", True),
        ("OPTIONAL: Establish a war room", True),
        ("Do not discuss the incident outside the team", True),
        ("If the pod failed, delete it", True),
        ("To resize the volume run", False),  # no comma: an introduction, not an instruction
        ("If the pod failed, the controller restarts it", False),
        ("Note that this procedure is speculative", False),
        ("The basebackup will be downloaded", False),
    ],
)
def test_instructions(text, told):
    assert is_instruction(text) is told


@pytest.mark.parametrize(
    ("title", "kind"),
    [
        ("Rollback Triggers", Kind.TRIGGERS),
        ("Triggering the deploy GitHub Action", None),  # a procedure that happens to say "trigger"
        ("Pre-Migration Safeguards", Kind.SAFEGUARDS),
        ("Rollback Team Responsibilities", Kind.ROLES),
        ("Post-Rollback Actions", Kind.POST_ACTIONS),
        ("Post-Rollback Validation", None),  # steps run after the rollback
        ("Data Validation After Rollback", Kind.VALIDATIONS),
        ("Meaning", Kind.REFERENCE),
        ("Assess Functional Impact", None),
    ],
)
def test_heading_kinds(title, kind):
    assert heading_kind(title) == kind


@pytest.mark.parametrize(
    ("lang", "content", "kind"),
    [
        ("bash", "anything\n", "shell"),
        ("console", "$ ls\n", "shell"),
        ("sql", "select 1;\n", "sql"),
        ("json", '{"a": 1}\n', "text"),
        ("", "kubectl get pods\n", "shell"),
        ("", "# comment\nsudo systemctl restart api\n", "shell"),
        ("", "/pd-moc We are initiating a rollback\n", "text"),  # a chat command
        ("", "operation-1617  DONE  2021-04-06\n", "text"),  # output
    ],
)
def test_code_kinds(lang, content, kind):
    assert code_kind(lang, content) == kind


@pytest.mark.parametrize(
    ("hint", "title", "name"),
    [
        ("rollback_database.sh", "", "rollback_database"),
        ("../../../etc/cron.d/evil.sh", "", "evil"),
        ("/etc/passwd.sh", "", "passwd"),
        ("..\\..\\win.sh", "", "win"),
        ("....sh", "Run it", "run_it"),
        ("", "Restore from backup", "restore_from_backup"),
    ],
)
def test_script_names_are_one_safe_component(hint, title, name):
    assert script_name(hint, title) == name


def test_keys_are_unique_slugs():
    keys = Keys()
    assert [keys.key(t, "step") for t in ("Restart services", "Restart services!", "???")] == [
        "restart_services",
        "restart_services_2",
        "step",
    ]


def test_an_unclosed_fence_is_closed_before_the_inner_opener_and_reported():
    text = "# Up\n\n```shell\nsudo psql\n```sql\nselect 1;\n\n### Post checks\n1. Check it\n"
    tokens, repairs = parse(text, path="doc.md")
    fences = [(t.info, t.content, (t.map or [0])[0] + 1) for t in tokens if t.type == "fence"]
    assert fences == [("shell", "sudo psql\n", 3), ("sql", "select 1;\n", 5)]
    assert [(r.opened_line, r.closed_before) for r in repairs] == [(3, 5), (5, 8)]
    headings = [(t.map or [0])[0] + 1 for t in tokens if t.type == "heading_open"]
    assert headings == [1, 8]  # lines of the file as written, despite the inserted closers


def test_task_items_and_bold_leads():
    root = build(
        parse("- [ ] **Page the IMOC**: say a rollback starts\n- [x] done\n", path="d")[0]
    ).root
    [listing] = root.blocks
    assert isinstance(listing, ItemList)
    first, second = listing.items
    assert (first.task, first.text.lead, first.text.rest) == (
        True,
        "Page the IMOC",
        "say a rollback starts",
    )
    assert (second.task, second.text.plain) == (True, "done")


def test_a_console_transcript_keeps_only_the_commands():
    text = "# Check\n\n## Steps\n\nCheck the claims:\n\n```\n$ kubectl get pvc\nNAME  STATUS\ndata  Bound\n```\n"
    imported = import_markdown(text.encode(), path="doc.md")
    assert imported.scripts == {"scripts/check_the_claims.sh": "kubectl get pvc\n"}


def test_a_script_of_comments_only_is_a_manual_step_with_a_todo():
    text = "# Fix\n\n## Mitigation\n\nRemove dangling images:\n\n```shell\n# TODO: Command needed\n```\n"
    imported = import_markdown(text.encode(), path="doc.md")
    [step] = imported.spec.all_steps()
    assert (step.kind.value, step.title) == ("manual", "Remove dangling images")
    assert any("only comments" in todo.message for todo in imported.todos)


def test_steps_keep_their_source_lines():
    text = "# Plan\n\n## Steps for Scribe\n\n1. Update the channel\n\n1. Start the bot\n"
    assert steps_of(text) == [(5, "manual", "Update the channel"), (7, "manual", "Start the bot")]


def test_a_heading_naming_a_role_owns_its_steps():
    text = "# Plan\n\n## Steps for Deputy\n\n1. Monitor the incident\n\n## Steps for Scribe\n\n1. Take notes\n"
    imported = import_markdown(text.encode(), path="doc.md")
    assert [r.id for r in imported.spec.roles] == ["deputy", "scribe"]
    assert [s.owner for s in imported.spec.all_steps()] == ["deputy", "scribe"]


def test_a_document_without_steps_gets_one_placeholder_and_says_so():
    imported = import_markdown(b"# Service overview\n\nWhat it is.\n", path="doc.md")
    assert imported.readiness.placeholder_steps == 1
    assert [s.title for s in imported.spec.all_steps()] == ["Write the procedure"]
    assert any("no steps found" in todo.message for todo in imported.todos)


def test_phases_without_a_window_get_a_placeholder_budget_and_a_todo():
    text = "# Plan\n\n## Stop\n\n1. Stop writes\n\n## Restore (10-40 min)\n\n1. Restore it\n"
    imported = import_markdown(text.encode(), path="doc.md")
    windows = [(p.title, p.starts_at_minutes, p.ends_at_minutes) for p in imported.spec.phases]
    assert windows == [("Stop", 0, 30), ("Restore", 10, 40)]
    assert [t.line for t in imported.todos if "no time window" in t.message] == [3]
