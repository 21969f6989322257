"""One validation check's evidence as Markdown a person can read. A pure function of a row.

Evidence has the same four keys in every check family (``validation.checks.base``):
``ran``, ``expected``, ``seen`` and ``differences``, plus the family's own
details. This writes, for a check that ran:

- the differences, named, as a list (they are the point of a failed check);
- what ran: a query as a fenced ``sql`` block, anything else as a sentence;
- expected against seen as a table, one row per thing compared (a snapshot's
  ``tables.users``, an sql check's row count or first value);
- rows a query returned (an sql check's, a snapshot's ``explain``) as a table;
- the family's other details, each on its own line.

Everything is bounded, whatever the check stored: lists and tables keep their
first ``MAX_ITEMS`` entries and say "… and N more", long values are cut at
``MAX_CHARS`` and long queries at ``MAX_QUERY_LINES``. Values come from the
target database, so every one of them goes through ``cell``/``text``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from postmortem.mdsyntax import EMPTY, bullets, cell, clock, code, fenced, table, text
from postmortem.validation_rows import ReportRow

MAX_ITEMS = 10  # list entries and table rows shown; the rest are counted
MAX_CHARS = 120  # one value in a cell or a line
DIFFERENCE_CHARS = 500  # a difference is the point of a failed check: keep it whole
MAX_QUERY_LINES, MAX_QUERY_CHARS = 40, 4000
COMMON = ("ran", "expected", "seen", "differences")
# Shown by the sections above, not again among the details.
SHOWN = {*COMMON, "query", "explain"}


def check_evidence(row: ReportRow, day: date) -> str:
    """The evidence of ``row`` (a check that ran) under its own H3 heading."""
    proof = row.evidence
    about = [text(row.family.replace("_", " ").capitalize())] if row.family else []
    if row.checked_at:
        about.append(f"checked {clock(row.checked_at, day)}")
    blocks = [f"### {text(row.title)} ({code(row.id)}): {row.result}"]
    if about:
        blocks.append(" · ".join(about))
    if differences := [str(d) for d in proof.get("differences") or []]:
        named = [text(_cut(d, DIFFERENCE_CHARS)) for d in differences]
        blocks += ["**Differences**", bullets(_bounded(named))]
    query = str(proof.get("query") or "")
    ran = str(proof.get("ran") or "")
    if query:
        blocks += ["**Query**", _sql(query)]
    if ran and ran != query:
        blocks.append(f"**Ran:** {text(_cut(ran))}")
    if compared := _compared(proof):
        blocks += ["**Expected and seen**", table(["Compared", "Expected", "Seen"], compared)]
    seen = proof.get("seen")
    if isinstance(seen, Mapping):
        if isinstance(seen.get("first_rows"), list):
            blocks += _rows("Rows seen", seen.get("columns"), seen["first_rows"], seen.get("rows"))
        for key, value in seen.items():
            if _is_records(value):  # kept out of the table above (see _flatten)
                blocks += _records(f"Seen: {text(key.replace('_', ' '))}", value)
    if isinstance(explain := proof.get("explain"), Mapping):
        blocks += _explain(explain)
    blocks += _details({k: v for k, v in proof.items() if k not in SHOWN})
    return "\n\n".join(blocks)


# --- expected against seen ---------------------------------------------------


def _compared(proof: Mapping[str, Any]) -> list[list[str]]:
    expected, seen = proof.get("expected"), proof.get("seen")
    if expected is None and seen is None:
        return []  # an error: nothing was compared, the differences say why
    if "query" in proof and isinstance(expected, Mapping):
        return _sql_compared(expected, seen if isinstance(seen, Mapping) else {})
    want, got = _flatten(expected), _flatten(seen)
    rows = []
    for path in dict.fromkeys([*want, *got]):
        wanted, found = want.get(path, EMPTY), got.get(path, EMPTY)
        if path in want and found != wanted:
            found = f"**{found}**"  # what differs stands out
        rows.append([cell(_cut(".".join(path))), wanted, found])
    return _bounded_rows(rows, 3)


def _sql_compared(expected: Mapping[str, Any], seen: Mapping[str, Any]) -> list[list[str]]:
    """An sql check's expectation (no_rows, rows, scalar, equals) against what came back."""
    count = _value(seen.get("rows"))
    rows = []
    if expected.get("no_rows"):
        rows.append(["rows", "none", count])
    if "rows" in expected:
        rows.append(["rows", _value(expected["rows"]), count])
    if "scalar" in expected:
        rows.append(["first value", _value(expected["scalar"]), _value(seen.get("scalar"))])
    if isinstance(equals := expected.get("equals"), list):
        shown = _bounded([_value(r) for r in equals])
        rows.append(["rows, in order", "<br>".join(shown), count])
    return rows


def _flatten(value: Any, path: tuple[str, ...] = ()) -> dict[tuple[str, ...], str]:
    """Leaves of nested mappings, by path, as Markdown; lists of records are left to _details."""
    if isinstance(value, Mapping):
        found: dict[tuple[str, ...], str] = {}
        for key, item in value.items():
            if not _is_records(item):
                found |= _flatten(item, (*path, str(key)))
        return found
    if value is None and not path:
        return {}
    return {path or ("value",): _value(value)}


# --- rows a query returned -----------------------------------------------------


def _rows(label: str, columns: Any, rows: list[Any], total: Any) -> list[str]:
    count = total if isinstance(total, int) else len(rows)
    if not rows:
        return [f"**{label}:** none"]
    header = [cell(_cut(str(c))) for c in columns] if isinstance(columns, list) else []
    width = max([len(header)] + [len(r) if isinstance(r, list) else 1 for r in rows])
    header += [f"column {i + 1}" for i in range(len(header), width)]
    body = [_row_cells(r, width) for r in rows[:MAX_ITEMS]]
    blocks = [f"**{label}** ({_count(count, 'row')}):", table(header, body)]
    if count > len(body):
        blocks.append(_more(count - len(body)))
    return blocks


def _row_cells(row: Any, width: int) -> list[str]:
    values = row if isinstance(row, list) else [row]
    return [_value(v, null="NULL") for v in values] + [EMPTY] * (width - len(values))


def _explain(explain: Mapping[str, Any]) -> list[str]:
    """A snapshot check's ``explain`` query: what it looked for, the query, the rows it found."""
    label = str(explain.get("label") or "Explained")
    blocks = [f"**Explained by a query:** {text(_cut(label))}"]
    if explain.get("query"):
        blocks.append(_sql(str(explain["query"])))
    if explain.get("error"):
        return [*blocks, f"The query could not run: {text(_cut(str(explain['error'])))}"]
    rows = explain.get("first_rows")
    if isinstance(rows, list):
        blocks += _rows("Found", explain.get("columns"), rows, explain.get("count"))
    return blocks


# --- the family's other details --------------------------------------------------


def _details(extras: Mapping[str, Any]) -> list[str]:
    blocks = []
    for key, value in extras.items():
        name = text(key.replace("_", " ").capitalize())
        if value is None or value == {} or value == []:
            continue
        if _is_records(value):
            blocks += _records(name, value)
        elif key == "checksum_columns" and isinstance(value, Mapping):
            tables = [f"{t}({', '.join(map(str, cols))})" for t, cols in value.items()]
            blocks.append(f"**{name}:** {text(_cut('; '.join(tables), MAX_CHARS * 4))}")
        else:
            blocks.append(f"**{name}:** {_value(value)}")
    return blocks


def _records(name: str, records: list[Mapping[str, Any]]) -> list[str]:
    """A list of records (a login check's accounts, an http check's checks) as a table."""
    columns = list(dict.fromkeys(str(k) for record in records for k in record))
    rows = [[_value(record.get(c)) for c in columns] for record in records[:MAX_ITEMS]]
    blocks = [f"**{name}**", table([cell(_cut(c)) for c in columns], rows)]
    if len(records) > MAX_ITEMS:
        blocks.append(_more(len(records) - MAX_ITEMS))
    return blocks


# --- values ----------------------------------------------------------------------


def _value(value: Any, *, null: str = EMPTY) -> str:
    """One value as Markdown text on one line: lists joined (bounded), others as JSON."""
    if value is None:
        return null
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return cell(_cut(value)) if value.strip() else code(json.dumps(value))
    if isinstance(value, list) and all(not isinstance(v, list | Mapping) for v in value):
        return ", ".join(_bounded([_value(v, null="NULL") for v in value])) or EMPTY
    dumped = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
    return code(_cut(dumped))


def _is_records(value: Any) -> bool:
    return (
        isinstance(value, list) and bool(value) and all(isinstance(item, Mapping) for item in value)
    )


def _sql(query: str) -> str:
    lines = query.strip().splitlines()
    kept, size = [], 0
    for line in lines[:MAX_QUERY_LINES]:
        size += len(line) + 1
        if size > MAX_QUERY_CHARS:
            break
        kept.append(line)
    if len(kept) < len(lines):
        kept.append(f"-- {_more(len(lines) - len(kept))} lines")
    return fenced("\n".join(kept), "sql")


def _bounded(items: Sequence[str]) -> list[str]:
    shown = list(items[:MAX_ITEMS])
    if len(items) > MAX_ITEMS:
        shown.append(_more(len(items) - MAX_ITEMS))
    return shown


def _bounded_rows(rows: list[list[str]], width: int) -> list[list[str]]:
    if len(rows) <= MAX_ITEMS:
        return rows
    return [*rows[:MAX_ITEMS], [_more(len(rows) - MAX_ITEMS), *[EMPTY] * (width - 1)]]


def _more(left_out: int) -> str:
    """What stands for the entries a bounded list or table leaves out."""
    return f"… and {left_out} more"


def _cut(value: str, limit: int = MAX_CHARS) -> str:
    value = " ".join(value.split()) if "\n" not in value else value.strip()
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
