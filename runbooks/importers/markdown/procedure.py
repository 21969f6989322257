"""The steps a procedure section holds, as drafts that still know their source line.

What becomes a step (the rest stays text):

* a list item that instructs: a task-list item, one with a bold lead, or one
  opening with an imperative verb (or a prohibition, or a condition followed by
  one); every item of a numbered list unless fewer than a third instruct, of a
  bulleted list where at least half do, and of a section whose heading says it
  lists steps ("Potential resolution steps", "Mitigation"). Its bold lead is the
  title; nested items, paragraphs and code are its description, and a shell (or
  SQL) block directly inside it makes it a shell (or SQL) step;
* a shell or SQL code block, titled by the paragraph introducing it ("To resize
  the volume run:"), else by the name in its first comment line, else by the heading;
* other code introduced by an instruction ("Check which database it uses:"), as
  a manual step showing the code; other code joins the step before it;
* each sentence of a paragraph that instructs (the last one, when the paragraph
  introduces a list or code, titles that instead);
* a row of a table whose header has a step, action, task or command column.

A numbered list whose items mostly repeat later headings ("1. Cut off the attack
vector" and a "Cut Off Attack Vector" section) is an index of the document, not
steps: the sections hold the steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from runbooks.importers.markdown.kinds import (
    code_kind,
    is_instruction,
    prompt_commands,
    says_steps,
    sentences,
)
from runbooks.importers.markdown.sections import (
    Block,
    Code,
    Item,
    ItemList,
    Paragraph,
    Section,
    Table,
    Text,
)
from runbooks.importers.markdown.words import significant_words

TITLE_LIMIT = 120
STEP_COLUMNS = ("step", "action", "task", "command")
MAX_INDEX = 40  # an index of a document's sections is short; longer lists are never compared


@dataclass(eq=False, slots=True)
class Draft:
    title: str
    description: str
    line: int
    section: Section
    kind: str = "manual"  # "manual", "shell" or "sql"
    script: str = ""  # shell: the script's content; sql: the query
    script_hint: str = ""  # the name the author gave the script, if any
    optional: bool = False
    notes: list[str] = field(default_factory=list)  # what a person should check (TODOs)


def split_title(text: str) -> tuple[str, str]:
    """A title (the first sentence, at most TITLE_LIMIT characters) and the rest."""
    text = " ".join(text.split()) if "\n" not in text else text.strip()
    first_line, _, after = text.partition("\n")
    for end in (". ", "? ", "! "):
        cut = first_line.find(end)
        if 0 < cut < TITLE_LIMIT:
            title, rest = first_line[: cut + 1], first_line[cut + 2 :]
            return title.rstrip(".:").strip(), _join(rest, after)
    if len(first_line) <= TITLE_LIMIT:
        return first_line.rstrip(".:").strip(), after.strip()
    cut = first_line.rfind(" ", 0, TITLE_LIMIT)
    cut = cut if cut > 0 else TITLE_LIMIT
    return first_line[:cut].rstrip(" ,;:") + "…", _join("…" + first_line[cut:].lstrip(), after)


def _join(*parts: str) -> str:
    return "\n".join(part.strip() for part in parts if part.strip())


def section_steps(
    section: Section, headings: Sequence[frozenset[str]], *, reference: bool = False
) -> list[Draft]:
    """Every step ``section`` holds directly (not its sub-sections'), in order.

    In a ``reference`` section (meaning, impact, notes) only sentences that
    instruct are steps: its lists and code describe.
    """
    steps: list[Draft] = []
    lead: Text | None = None
    every_item = says_steps(section.title)
    blocks = section.blocks
    for b, block in enumerate(blocks):
        following = blocks[b + 1] if b + 1 < len(blocks) else None
        if isinstance(block, Paragraph):
            lead = _paragraph(block.text, following, section, steps)
            if reference:
                lead = None
        elif reference:
            continue
        elif isinstance(block, Code):
            step = _from_code(block, lead, section)
            if step is not None:
                steps.append(step)
            elif steps:
                steps[-1].description = _join(steps[-1].description, _quoted(block.content))
            lead = None
        elif isinstance(block, ItemList):
            if not _is_index(block, headings):
                steps += [_from_item(item, section) for item in _step_items(block, every_item)]
            lead = None
        elif isinstance(block, Table):
            steps += _from_table(block, section)
            lead = None
    return steps


def _paragraph(
    text: Text, following: Block | None, section: Section, steps: list[Draft]
) -> Text | None:
    """Steps for the instructing sentences of a paragraph; its last sentence if it leads on.

    A paragraph leads on when it ends with a colon or a list or code block follows
    it: its last sentence then titles the code (or introduces the list).
    """
    parts = sentences(text.plain) if not text.lead else [text.plain]
    leads_on = text.plain.endswith(":") or isinstance(following, Code | ItemList)
    body = parts[:-1] if leads_on else parts
    made: Draft | None = None
    for sentence in body:
        if is_instruction(sentence):
            made = _from_text(Text(text.line, sentence, text.lead, text.rest), section)
            steps.append(made)
        elif made is not None:
            made.description = _join(made.description, sentence)
    if not leads_on or not parts:
        return None
    last = parts[-1]
    return Text(text.line, last, text.lead if len(parts) == 1 else "", text.rest, text.codes)


def _step_items(listing: ItemList, every_item: bool) -> list[Item]:
    """The items of a list that are steps.

    All of them in a section saying it lists steps (but bare links and words), in
    a numbered list unless fewer than a third of its items instruct (a list of
    events: "The basebackup will be downloaded"), and in a bulleted list where at
    least half instruct; otherwise the items that instruct, are tasks or have a
    bold lead.
    """
    items = [item for item in listing.items if item.text.plain]
    told = [item for item in items if _tells(item)]
    if every_item:
        return [item for item in items if _tells(item) or len(item.text.plain.split()) >= 3]
    share = 3 if listing.ordered else 2
    if len(told) * share >= len(items):
        return items
    return told


def _tells(item: Item) -> bool:
    return item.task or bool(item.text.lead) or is_instruction(item.text.plain)


def _is_index(listing: ItemList, headings: Sequence[frozenset[str]]) -> bool:
    if not listing.ordered or not 3 <= len(listing.items) <= MAX_INDEX:
        return False
    matched = 0
    for item in listing.items:
        words = significant_words(item.text.plain)
        if words and any(len(words & heading) * 2 >= len(words) for heading in headings):
            matched += 1
    return matched * 3 >= len(listing.items) * 2


def _from_text(text: Text, section: Section) -> Draft:
    if text.lead:
        title, description = text.lead, text.rest
    else:
        title, description = split_title(text.plain)
    return Draft(title or section.title, description, text.line, section, optional=_optional(text))


def _optional(text: Text) -> bool:
    return text.plain.lstrip("_*").upper().startswith("OPTIONAL")


def _from_item(item: Item, section: Section) -> Draft:
    step = _from_text(item.text, section)
    step.line = item.line
    step.description = _join(step.description, "\n".join(item.details))
    for code in item.codes:
        kind = code_kind(code.lang, code.content)
        if kind != "text":
            _make_scripted(step, code, kind)
            break
    return step


def _from_code(code: Code, lead: Text | None, section: Section) -> Draft | None:
    kind = code_kind(code.lang, code.content)
    if kind == "text":
        if lead is None or not is_instruction(lead.plain):
            return None
        step = _from_text(lead, section)
        step.description = _join(step.description, _quoted(code.content))
        return step
    if lead is not None:
        step = _from_text(lead, section)
    else:
        hint = script_hint(code.content)
        step = Draft(f"Run {hint}" if hint else section.title, "", code.line, section)
    step.line = code.line
    _make_scripted(step, code, kind)
    return step


def _make_scripted(step: Draft, code: Code, kind: str) -> None:
    if not _has_command(code.content):
        step.description = _join(step.description, _quoted(code.content))
        step.notes.append("the document gives no command here (only comments): write it")
        return
    step.kind = kind
    step.script = code.content
    if kind == "shell":
        commands = prompt_commands(code.content)
        if commands is not None:
            step.script = commands
            step.notes.append("console prompts stripped and output lines dropped")
        step.script_hint = script_hint(step.script)


def _has_command(content: str) -> bool:
    for line in content.split("\n"):
        stripped = line.strip().removeprefix("$ ")
        if stripped and not stripped.startswith(("#", "--")):
            return True
    return False


def script_hint(content: str) -> str:
    """The name in a script's first comment line (``# rollback_database.sh``), if it gives one."""
    for line in content.split("\n")[:5]:
        stripped = line.strip()
        if not stripped or stripped.startswith("#!"):
            continue
        words = stripped.lstrip("#").split()
        if stripped.startswith("#") and len(words) == 1 and words[0].endswith((".sh", ".bash")):
            return words[0]
        return ""
    return ""


def _from_table(table: Table, section: Section) -> list[Draft]:
    header = [cell.lower() for cell in table.header]
    column = next((i for i, name in enumerate(header) if name.startswith(STEP_COLUMNS)), None)
    if column is None:
        return []
    steps = []
    for line, cells in table.rows:
        if column >= len(cells) or not cells[column]:
            continue
        title, rest = split_title(cells[column])
        others = [
            f"{table.header[i]}: {cell}"
            for i, cell in enumerate(cells)
            if i != column and cell and i < len(table.header)
        ]
        steps.append(Draft(title, _join(rest, "\n".join(others)), line, section))
    return steps


def _quoted(content: str) -> str:
    return "\n".join("    " + line for line in content.rstrip("\n").split("\n"))
