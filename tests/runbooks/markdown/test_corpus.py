"""Every public runbook of shared/corpus/runbooks imports, passes check_runbook, and has its steps.

The counts below were made by reading each file (not by running the importer):
an *actionable item* is one thing a responder is told to do during the
procedure, counted once. Counted: each top-level list item that instructs (a
nested list elaborates its parent), each command block to run (not an output
sample or a configuration example), each instructing sentence or paragraph not
already counted, wherever it stands. Not counted: what describes (meaning,
impact, background, notes), lists of things (examples, symptoms, links, events
that happen by themselves), sections the document marks "Reference", an index
list repeating later headings, bare "TODO" placeholders, and what is another
block of a runbook (triggers, safeguards, validations, criteria, communications,
roles, post-actions, contacts). The import's steps must be within ±20 % of the
count (exactly 0 for a document with none: the format then needs one placeholder
step, which is not counted).
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from runbooks.importers.files import read_runbook_file
from runbooks.importers.markdown import import_markdown
from tests.runbooks.markdown.paths import CORPUS

pytestmark = pytest.mark.timeout(60)

# file: (actionable items counted by reading it, how they add up)
COUNTS: dict[str, tuple[int, str]] = {
    "PagerDuty__incident-response-docs__during_an_incident.md": (
        30, "numbered items of the seven sections: 3 + 7 + 3 + 5 + 4 + 3 + 5",
    ),
    "PagerDuty__incident-response-docs__security_incident_response.md": (
        54, "bullets of the 13 sections after the Checklist (an index of them): "
        "2+2+7+3+6+2+3+4+4+4+5+8+4",
    ),
    "SOURCES.md": (0, "the corpus's licence notes: nothing to do"),
    "SkeltonThatcher__run-book-template__run-book-template.md": (
        0, "a template: questions and '(e.g. ...)' placeholders only",
    ),
    "alphagov__govuk-developer-docs__RouterErrorRatioTooHigh.md": (
        3, "2 resolution bullets + 'Use this dashboard to check ... then look in Kibana'",
    ),
    "alphagov__govuk-developer-docs__howto-backup-and-restore-in-aws-rds.md": (
        27, "6 + 2 + 2 + 2 + 1 + 2 + 7 + 2 for sections 1-8 (commands, notes to make, checks) "
        "+ 3 for deleting the old database",
    ),
    "alphagov__govuk-developer-docs__roll-back-app.md": (
        13, "4 + 5 numbered + 'Check the #govuk-deploy-alerts channel' + 3 numbered",
    ),
    "counteractive__incident-response-plan-template__during.md": (
        158, "top-level items of the non-reference sections, Assess 4 ... Recover 2 "
        "(remediation menus Protect 10, Detect 4, Contain 11, Eradicate 6 included)",
    ),
    "counteractive__incident-response-plan-template__playbook-ransomware.md": (
        35, "Investigate 4 + Remediate 2 + Contain 10 + Eradicate 6 + Communicate 9 + "
        "Recover 4 (the user and help-desk actions are 'Reference')",
    ),
    "gitlab-com__runbooks__cmoc.md": (9, "nine checklist items"),
    "gitlab-com__runbooks__deleted-project-restore.md": (
        44, "special procedure 6, PITR 8 + 2, export 11, Git part 2, disk snapshot 10, "
        "customer 2, troubleshooting 3",
    ),
    "gitlab-com__runbooks__gitaly-token-rotation.md": (
        13, "11 top-level checklist items + 'Verify that the tokens are updated' + rollback",
    ),
    "gitlab-com__runbooks__k8s-cluster-upgrade.md": (
        25, "rollback 2, minor-version checks 3, steps 0.1-4: 5 + 6 + 2 + 2 + 2 + 2, "
        "post-upgrade 1",
    ),
    "gitlab-com__runbooks__k8s-pvc-resize.md": (
        15, "preflight 2, check 1, delete 2, resize 4, post checks 3, rollback 3",
    ),
    "gitlab-com__runbooks__pg_minor_upgrade.md": (
        16, "main steps 3, pre checks 4, binaries 2, extensions 1, post checks 5, monitor 1",
    ),
    "gitlab-com__runbooks__postgresql-role-credential-rotation.md": (
        51, "change issue 3, workstation 1, phase one 29, phase two 16, roll-back 1, TODO 1",
    ),
    "gitlab-com__runbooks__upgrade-and-rollback.md": (5, "five checklist items"),
    "gitlabhq__gitlabhq__7.1-to-7.2.md": (
        17, "sections 0-9: 1+1+2+1+1+1+4+1+2+1, revert 2",
    ),
    "openshift__runbooks__CollectorNodeDown.md": (
        20, "diagnosis 7, restart 1, resources 3, configuration 3, node 3, network 3",
    ),
    "prometheus-operator__runbooks__KubePersistentVolumeFillingUp.md": (
        20, "diagnosis 2, retention 2, export 1, rebalance 1, resize 4, instance pool 3, "
        "new cluster 7",
    ),
    "prometheus-operator__runbooks__NodeFilesystemSpaceFillingUp.md": (
        8, "diagnosis 4, debug 1, remove images 2 (commands still TODO), exit 1",
    ),
    "prometheus-operator__runbooks__etcdBackendQuotaLowSpace.md": (
        8, "CLI 3, PromQL 2, capacity planning 1, defrag 1, check after defrag 1",
    ),
}  # fmt: skip

FILES = sorted(path.name for path in CORPUS.glob("*.md"))


def test_the_table_covers_the_whole_corpus():
    assert FILES, f"no corpus at {CORPUS}"
    assert sorted(COUNTS) == FILES


def within(steps: int, counted: int) -> bool:
    return abs(steps - counted) <= 0.2 * counted


@pytest.mark.parametrize("name", FILES)
def test_imports_passes_check_runbook_and_finds_the_steps(name, tmp_path: Path):
    out = tmp_path / "runbook"
    call_command("import_runbook", str(CORPUS / name), out=str(out), stdout=io.StringIO())
    checked = read_runbook_file(out / "runbook.yaml")  # check_runbook's own code
    imported = import_markdown((CORPUS / name).read_bytes(), path=name)
    steps = imported.readiness.steps - imported.readiness.placeholder_steps
    assert len(checked.spec.all_steps()) == imported.readiness.steps
    counted, how = COUNTS[name]
    assert within(steps, counted), f"{steps} steps imported, {counted} counted by hand ({how})"


def test_the_table(capsys):
    """The counts beside the import's, printed for the record."""
    rows = []
    for name in FILES:
        imported = import_markdown((CORPUS / name).read_bytes(), path=name)
        steps = imported.readiness.steps - imported.readiness.placeholder_steps
        rows.append((name, COUNTS[name][0], steps, imported.readiness.scripted_steps))
    with capsys.disabled():
        print(f"\n    {'file':<72} {'counted':>7} {'steps':>5} {'scripted':>8}")
        for name, counted, steps, scripted in rows:
            print(f"    {name:<72} {counted:>7} {steps:>5} {scripted:>8}")
    assert all(within(steps, counted) for _, counted, steps, _ in rows)
