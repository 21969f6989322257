"""Real check results in the postmortem: a validation step runs against a damaged target,
then the document's "Validation evidence" section is read back and must name what differs.
"""

from __future__ import annotations

import psycopg
import pytest

from incidents.execution import runner
from postmortem.data import postmortem_data
from postmortem.markdown import SECTIONS, render_markdown
from tests.postmortem.mdparse import bullets, fences, h3_blocks, plain, sections, tables
from tests.validation import conftest as validation_fixtures
from tests.validation import test_services as validation_setup

# The MIG-002 incident on the real demo target, and a queued run, as the validation tests make them,
# from the same fixtures: the demo target restored for each test, and the MIG-002 spec.
demo_target = validation_fixtures.demo_target
target = validation_fixtures.target
mig002 = validation_fixtures.mig002
demo_env = validation_setup.demo_env
mig_incident = validation_setup.mig_incident
queued = validation_setup.queued

pytestmark = pytest.mark.django_db

VERIFY = ["user_accounts_exist", "user_profiles_correct", "tasks_accessible_to_owners",
          "task_metadata_intact", "task_relationships_intact"]  # fmt: skip
LOST_TASKS = list(range(40, 52))  # twelve tasks the "restore" lost


@pytest.fixture
def evidence(mig_incident, demo_env, ic) -> dict[str, str]:
    """Run "Verify data integrity" on a target that lost twelve tasks and one task's owner."""
    with psycopg.connect(demo_env.dsn) as conn:
        conn.execute("ALTER TABLE tasks DROP CONSTRAINT tasks_owner_id_fkey")
        conn.execute("UPDATE tasks SET owner_id = 99999 WHERE id = 12")
        conn.execute("DELETE FROM tasks WHERE id = ANY(%s)", [LOST_TASKS])
    runner.execute_run(queued(mig_incident, "verify_data_integrity", ic).pk)
    document = render_markdown(postmortem_data(mig_incident, audience="view"))
    _, titles, body = sections(document)
    assert titles == list(SECTIONS)
    return body


def check(evidence: dict[str, str], validation_id: str) -> str:
    (block,) = [b for title, b in h3_blocks(evidence["Validation evidence"]).items()
                if f"(`{validation_id}`)" in title]  # fmt: skip
    return block


def test_evidence_section_has_a_block_per_check_that_ran_with_its_result(evidence, mig_incident):
    summary, *_ = tables(evidence["Validation evidence"])
    declared = mig_incident.runbook_version.parsed().validations
    assert len(summary) == len(declared)  # every declared validation, run or not
    titles = list(h3_blocks(evidence["Validation evidence"]))
    assert [t.split("(`")[1].split("`)")[0] for t in titles] == VERIFY
    assert [t.rsplit(": ", 1)[1] for t in titles] == ["pass", "pass", "fail", "fail", "fail"]


def test_evidence_of_a_pass_shows_expected_and_seen_alike(evidence):
    block = check(evidence, "user_accounts_exist")
    (compared,) = tables(block)
    assert compared == [
        {"Compared": "tables.users", "Expected": "300", "Seen": "300"},
        {"Compared": "id_types.users", "Expected": "integer", "Seen": "integer"},
    ]
    assert "**Differences**" not in block
    assert "**Ran:** fingerprint of the target compared with the pre-migration backup" in block


def test_evidence_of_a_failed_sql_check_shows_its_query_and_the_rows_found(evidence):
    block = check(evidence, "tasks_accessible_to_owners")
    assert bullets(block) == ["1 tasks whose owner does not exist found, none expected"]
    ((info, query),) = fences(block)
    assert info == "sql" and query.startswith("SELECT t.id, t.owner_id FROM tasks t")
    compared, found = tables(block)
    assert compared == [{"Compared": "rows", "Expected": "none", "Seen": "1"}]
    assert found == [{"id": "12", "owner_id": "99999"}]  # the orphaned task, by id


def test_evidence_of_a_failed_snapshot_names_the_missing_task_ids(evidence):
    block = check(evidence, "task_metadata_intact")
    differences = [plain(d) for d in bullets(block)]
    assert differences[0] == "tasks: 1800 expected (pre-migration backup), 1788 seen — 12 missing"
    assert differences[2] == (
        "task ids missing below the highest id: 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, … (12 in all)"
    )
    compared, found = tables(block)
    assert {r["Compared"]: (r["Expected"], r["Seen"]) for r in compared}["tables.tasks"] == (
        "1800",
        "**1788**",  # what differs stands out
    )
    assert "**Explained by a query:** task ids missing below the highest id" in block
    assert [int(r["id"]) for r in found] == LOST_TASKS[:10]
    assert "**Found** (12 rows):" in block and "… and 2 more" in block
    assert [info for info, _ in fences(block)] == ["sql"]  # the explain query
