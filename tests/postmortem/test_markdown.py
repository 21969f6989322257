"""The Markdown writer and the page's Markdown reader, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from postmortem.html import markdown_to_html
from postmortem.markdown import SECTIONS, render_markdown
from postmortem.mdsyntax import code, duration, fenced, table, text
from postmortem.types import (
    FollowUpRow,
    PhaseRow,
    PhaseSteps,
    Postmortem,
    RoleRow,
    StepRow,
    Summary,
    TimelineRow,
    Trigger,
)
from postmortem.validation_rows import ReportRow
from tests.postmortem.mdparse import bullets, fences, gantt, h3_blocks, plain, sections, tables

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
HOSTILE = "a | b\n# not a heading\n<script>alert(1)</script> *x* [y](javascript:z) `c`"


@pytest.mark.parametrize(
    "value",
    [HOSTILE, "- list?", "1. ordered?", "+ plus", "= setext", "user_accounts_exist", "\\ back"],
)
def test_text_round_trips_whatever_people_type(value):
    escaped = text(value)
    assert "\n" not in escaped
    assert plain(escaped) == value.strip()


def test_text_neutralises_markdown_and_html():
    assert text("a | b") == "a \\| b"
    assert text("two\r\nlines") == "two<br>lines"
    assert text("- item") == "\\- item" and text("12. x") == "12\\. x"
    assert text("<b>&amp;") == "\\<b\\>\\&amp;"
    assert text("user_accounts_exist _x_") == "user_accounts_exist \\_x\\_"


def test_a_hostile_cell_stays_one_cell():
    md = table(["A", "B"], [[text(HOSTILE), "ok"]])
    (rows,) = tables(md)
    assert [plain(rows[0]["A"]), rows[0]["B"]] == [HOSTILE, "ok"]
    html = markdown_to_html(md)
    assert html.count("<td>") == 2
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "a | b<br># not a heading" in html and "<h1" not in html


def test_code_spans_hold_backticks_verbatim():
    assert code("a `b` c") == "``a `b` c``"
    assert code("`edge`") == "`` `edge` ``"
    assert markdown_to_html(code("a `b` <c>")) == "<p><code>a `b` &lt;c&gt;</code></p>"
    assert fenced("SELECT '```'\n", "sql") == "````sql\nSELECT '```'\n````"


def test_html_keeps_only_safe_links_and_swaps_in_trusted_images():
    html = markdown_to_html(
        "[ok](/incidents/1/) [bad](javascript:alert) [proto](//evil.example)\n\n"
        "![Phase chart](chart.svg) ![other](other.svg)",
        images={"chart.svg": "<svg id='inline'></svg>"},
    )
    assert '<a href="/incidents/1/">ok</a>' in html
    assert "bad" in html and 'href="javascript' not in html
    assert "proto" in html and 'href="//evil' not in html
    assert "<svg id='inline'></svg>" in html and '<img src="other.svg" alt="other">' in html


def test_html_renders_headings_lists_tables_and_strong():
    html = markdown_to_html("# T\n\n## Two words\n\n- **a:** b\n- c\n\n| H |\n| --- |\n| v |\n")
    assert html.splitlines() == [
        '<h1 id="t">T</h1>',
        '<h2 id="two-words">Two words</h2>',
        "<ul><li><strong>a:</strong> b</li><li>c</li></ul>",
        "<table><thead><tr><th>H</th></tr></thead><tbody><tr><td>v</td></tr></tbody></table>",
    ]


def test_durations_read_naturally():
    assert [duration(s) for s in (45, 960, 3900, None)] == ["45s", "16m 00s", "1h 05m", "—"]


def small_postmortem(**changes) -> Postmortem:
    summary = Summary(
        incident_id=3,
        title=HOSTILE,
        runbook_slug="small",
        runbook_title="Small",
        runbook_version=2,
        plan_summary="",
        environment="staging",
        severity="SEV2 — major",
        is_drill=False,
        status="Active",
        is_resolved=False,
        opened_at=T0,
        opened_by="ic",
        resolved_at=None,
        resolved_by=None,
        duration_seconds=600,
        override_reason="",
    )
    phase = PhaseRow(1, "p", "P | one", T0, T0 + timedelta(minutes=15), T0, None, 600, "on_time", 0)
    step = StepRow(
        "s", "S", "Backend", "manual", False, "skipped", "why\nnot", "bob", T0, 60, None, None
    )
    defaults: dict[str, Any] = {
        "generated_at": T0 + timedelta(minutes=10),
        "audience": "view",
        "chart_path": "/incidents/3/postmortem/chart.svg",
        "summary": summary,
        "trigger": Trigger([], None, None, ""),
        "roles": [RoleRow("incident_commander", "IC", "", ["ic"], [], [])],
        "phases": [phase],
        "steps": [PhaseSteps(1, "P | one", [step])],
        "validations": [],
        "criteria": [],
        "timeline": [TimelineRow(T0 + timedelta(days=1), None, "Note", "next day")],
        "follow_ups": [FollowUpRow("F", "", "IC", [])],
    }
    return Postmortem(**(defaults | changes))


def test_render_markdown_is_a_pure_function_of_its_data():
    pm = small_postmortem()
    document = render_markdown(pm)
    assert render_markdown(pm) == document
    head, titles, body = sections(document)
    assert titles == list(SECTIONS)
    assert plain(head.splitlines()[0]) == "# Postmortem: " + HOSTILE
    assert "**Total duration:** 10m 00s so far" in body["Summary"]
    assert "Override reason" not in body["Summary"]
    assert body["Validation evidence"].strip() == "The runbook declares no validations."
    assert body["Success criteria"].strip() == "The runbook declares no success criteria."
    assert "The runbook declares no triggers." in body["Trigger"]
    (steps,) = tables(body["Steps"])
    assert plain(steps[0]["Outcome"]) == "skipped: why\nnot"
    assert bullets(body["Timeline"]) == ["2026-11-26 09:00:00 · Ripcord · next day"]
    (follow_ups,) = tables(body["Follow-up actions"])
    assert follow_ups[0]["Owners"] == "nobody holds this role"


TRICKY_TITLE = "Restore: step #2; then %% verify #58;"


def test_phase_chart_titles_cannot_break_the_mermaid_syntax():
    """A colon, '#' or ';' in a title is an entity code in the chart; the title reads back whole.

    Phase 1 ran over and is still running at generation time; phase 2 has not begun.
    """
    running = PhaseRow(
        1, "p", TRICKY_TITLE, T0, T0 + timedelta(minutes=5), T0, None, 600, "overrun", 5
    )
    waiting = PhaseRow(
        2, "q", "Next\nphase", T0 + timedelta(minutes=5), T0 + timedelta(hours=1), None, None,
        None, "not_started", 0,
    )  # fmt: skip
    document = render_markdown(small_postmortem(phases=[running, waiting]))
    ((info, source),) = fences(sections(document)[2]["Phases"])
    assert info == "mermaid"
    section_lines = [line for line in source.splitlines() if "section " in line]
    assert section_lines[0] == "    section 1. Restore#58; step #35;2#59; then %% verify #35;58#59;"
    chart = gantt(source)  # fails on any bare '#', ':' or ';' in a title or name
    assert list(chart) == [f"1. {TRICKY_TITLE}", "2. Next phase"]
    planned, actual = chart[f"1. {TRICKY_TITLE}"]
    assert (planned.name, planned.start, planned.end) == ("planned", T0, T0 + timedelta(minutes=5))
    assert (actual.name, actual.tags) == ("actual, running, 5 min over budget", ["crit", "active"])
    assert (actual.start, actual.end) == (T0, T0 + timedelta(minutes=10))  # up to generation
    assert [t.name for t in chart["2. Next phase"]] == ["planned"]  # not begun: no actual bar


def test_page_folds_the_chart_source_and_shows_code_blocks_verbatim():
    html = markdown_to_html(
        "a\n```mermaid\ngantt\n    section <b>x</b>\n```\n\n````sql\nSELECT '```'\n# no heading\n````"
    )
    assert html == (
        "<p>a</p>\n"
        '<details class="chart-source"><summary>The chart as Mermaid text</summary>'
        '<pre><code class="language-mermaid">gantt\n    section &lt;b&gt;x&lt;/b&gt;</code></pre>'
        "</details>\n"
        '<pre><code class="language-sql">SELECT &#x27;```&#x27;\n# no heading</code></pre>'
    )


def test_evidence_stays_bounded_and_hostile_values_stay_in_their_cells():
    """Whatever a check stored, the document shows a bounded, well-formed part of it."""
    long_query = "\n".join(f"SELECT {n} AS x -- line {n}" for n in range(100))
    sql = ReportRow(
        id="many",
        title="Many rows",
        family="task_data",
        result="fail",
        summary="",
        evidence={
            "ran": long_query,
            "query": long_query,
            "expected": {"no_rows": True},
            "seen": {
                "rows": 37,
                "columns": ["id", "note"],
                "first_rows": [[n, "a | b\n# c" if n == 0 else "x" * 500] for n in range(20)],
            },
            "differences": [f"difference {n}" for n in range(25)],
            "params": None,
        },
        checked_at=T0,
    )
    login = ReportRow(
        id="logins",
        title="Logins",
        family="auth_data",
        result="fail",
        summary="",
        evidence={
            "ran": "login as each of 14 account(s)",
            "expected": {"accounts_logging_in": 14},
            "seen": {
                "accounts_logging_in": 0,
                "accounts": [{"email": f"u{n}@x", "ok": False, "problem": "no"} for n in range(14)],
            },
            "differences": ["no"] * 14,
            "source": "from SMOKE_TEST_ACCOUNTS",
        },
        checked_at=T0,
    )
    document = render_markdown(small_postmortem(validations=[sql, login]))
    blocks = h3_blocks(sections(document)[2]["Validation evidence"])
    many, logins = blocks["Many rows (`many`): fail"], blocks["Logins (`logins`): fail"]

    assert bullets(many)[-2:] == ["difference 9", "… and 15 more"]
    ((_, query),) = fences(many)
    assert query.splitlines()[-1] == "-- … and 60 more lines" and len(query.splitlines()) == 41
    compared, rows = tables(many)
    assert compared == [{"Compared": "rows", "Expected": "none", "Seen": "37"}]
    assert len(rows) == 10 and "**Rows seen** (37 rows):" in many and "… and 27 more" in many
    assert plain(rows[0]["note"]) == "a | b\n# c"  # one cell, not a new column or heading
    assert len(rows[1]["note"]) == 120 and rows[1]["note"].endswith("…")
    assert "**Ran:**" not in many  # the query is what ran: shown once

    compared, accounts = tables(logins)
    assert compared == [{"Compared": "accounts_logging_in", "Expected": "14", "Seen": "**0**"}]
    assert len(accounts) == 10 and accounts[0] == {"email": "u0@x", "ok": "false", "problem": "no"}
    assert "… and 4 more" in logins and "**Source:** from SMOKE_TEST_ACCOUNTS" in logins
    assert len(document) < 12_000
