"""Block tokens → a tree of headed sections, each holding its blocks in order.

Only what the importer reads is kept: paragraphs and list items as plain text
(code spans in backticks, links as their text, inline HTML as the characters
written, never as markup), code blocks with their language and exact content,
tables as rows of cell text, HTML blocks and quotes as notes. Every block keeps
the 1-based line it starts on, so whatever it becomes can say where it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml
from markdown_it.token import Token

CHECKBOX_CLASS = "task-list-item-checkbox"


@dataclass(slots=True)
class Text:
    line: int
    plain: str  # the whole text
    lead: str = ""  # a bold lead ("**Title**: rest"), without its markers
    rest: str = ""  # what follows the bold lead ("" without one)
    codes: list[str] = field(default_factory=list)  # inline code spans, in order


@dataclass(slots=True)
class Paragraph:
    text: Text

    @property
    def line(self) -> int:
        return self.text.line


@dataclass(slots=True)
class Code:
    line: int
    lang: str  # the info string's first word, lower-cased ("" for none)
    content: str  # exactly the block's content, as Markdown defines it


@dataclass(slots=True)
class Item:
    text: Text
    task: bool  # a task-list item ("- [ ]")
    details: list[str] = field(default_factory=list)  # nested paragraphs, items and code
    codes: list[Code] = field(default_factory=list)  # code blocks directly inside the item

    @property
    def line(self) -> int:
        return self.text.line


@dataclass(slots=True)
class ItemList:
    line: int
    ordered: bool
    items: list[Item]


@dataclass(slots=True)
class Table:
    line: int
    header: list[str]
    rows: list[tuple[int, list[str]]]  # (line, cells)


@dataclass(slots=True)
class Note:
    """An HTML block or a quote: kept as the text written, never rendered."""

    line: int
    text: str


Block = Paragraph | Code | ItemList | Table | Note


@dataclass(eq=False, slots=True)
class Section:
    level: int  # 0: the text before the first heading
    title: str
    line: int
    parent: Section | None = None
    blocks: list[Block] = field(default_factory=list)
    children: list[Section] = field(default_factory=list)

    def walk(self) -> list[Section]:
        """This section and every section below it, in document order."""
        out: list[Section] = []
        pending = [self]
        while pending:
            section = pending.pop()
            out.append(section)
            pending.extend(reversed(section.children))
        return out

    def ancestors(self) -> list[Section]:
        """Parents from the nearest up to (not including) the document root."""
        out = []
        parent = self.parent
        while parent is not None and parent.level > 0:
            out.append(parent)
            parent = parent.parent
        return out


@dataclass(slots=True)
class Document:
    root: Section
    front_matter: dict[str, Any]


def build(tokens: list[Token]) -> Document:
    root = Section(0, "", 1)
    stack = [root]
    front: dict[str, Any] = {}
    i = 0
    while i < len(tokens):
        token = tokens[i]
        if token.type == "front_matter":
            front = _front_matter(token.content)
        elif token.type == "heading_open":
            level = int(token.tag[1:])
            while stack[-1].level >= level:
                stack.pop()
            section = Section(level, _inline(tokens[i + 1]).plain.strip(), _line(token), stack[-1])
            stack[-1].children.append(section)
            stack.append(section)
            i = _close(tokens, i)
        else:
            block, i = _block(tokens, i)
            if block is not None:
                stack[-1].blocks.append(block)
            continue
        i += 1
    return Document(root, front)


def _block(tokens: list[Token], i: int) -> tuple[Block | None, int]:
    """The block starting at ``tokens[i]`` and the index just past it."""
    token = tokens[i]
    if token.type == "paragraph_open":
        return Paragraph(_inline(tokens[i + 1])), _close(tokens, i) + 1
    if token.type in ("fence", "code_block"):
        return _code(token), i + 1
    if token.type in ("bullet_list_open", "ordered_list_open"):
        return _list(tokens, i)
    if token.type == "table_open":
        return _table(tokens, i)
    if token.type == "html_block":
        return Note(_line(token), token.content.rstrip("\n")), i + 1
    if token.type == "blockquote_open":
        end = _close(tokens, i)
        texts = [_inline(t).plain for t in tokens[i:end] if t.type == "inline"]
        return Note(_line(token), "\n".join(texts)), end + 1
    return None, _close(tokens, i) + 1 if token.nesting == 1 else i + 1


def _close(tokens: list[Token], i: int) -> int:
    """Index of the token closing the one opened at ``i`` (``i`` itself if it opens nothing)."""
    if tokens[i].nesting != 1:
        return i
    depth = 0
    for j in range(i, len(tokens)):
        depth += tokens[j].nesting
        if depth == 0:
            return j
    return len(tokens) - 1


def _code(token: Token) -> Code:
    lang = token.info.strip().split(" ")[0].lower() if token.info else ""
    return Code(_line(token), lang.strip("{}."), token.content)


def _list(tokens: list[Token], i: int) -> tuple[ItemList, int]:
    end = _close(tokens, i)
    listing = ItemList(_line(tokens[i]), tokens[i].type == "ordered_list_open", [])
    j = i + 1
    while j < end:
        item_end = _close(tokens, j)
        listing.items.append(_item(tokens, j, item_end))
        j = item_end + 1
    return listing, end + 1


def _item(tokens: list[Token], start: int, end: int) -> Item:
    opener = tokens[start]
    task = opener.attrs.get("class") == "task-list-item"
    item = Item(Text(_line(opener), ""), task)
    j = start + 1
    first = True
    while j < end:
        token = tokens[j]
        if token.type == "paragraph_open" and first:
            item.text = _inline(tokens[j + 1], task=task)
            first = False
            j = _close(tokens, j) + 1
        elif token.type == "blockquote_open" and first and _line(token) == item.line:
            # "- >10% of requests failing": Markdown reads a quote; the author wrote a ">".
            quote_end = _close(tokens, j)
            inline = next((t for t in tokens[j:quote_end] if t.type == "inline"), None)
            if inline is not None:
                text = _inline(inline)
                item.text = Text(item.line, f">{text.plain}", codes=text.codes)
                first = False
            j = quote_end + 1
        elif token.type in ("fence", "code_block"):
            item.codes.append(_code(token))
            item.details.append(_indented(token.content))
            j += 1
        else:
            block_end = _close(tokens, j)
            item.details += _flatten(tokens[j : block_end + 1])
            j = block_end + 1
    if first and item.details:  # an item holding only code or a nested list
        item.text = Text(item.line, item.details[0].strip())
    return item


def _flatten(tokens: list[Token]) -> list[str]:
    """Nested content as text lines: items marked and indented by depth, code indented."""
    out: list[str] = []
    base = tokens[0].level if tokens else 0
    for token in tokens:
        if token.type == "inline":
            depth = max(0, (token.level - base - 1) // 2)
            out.append("  " * depth + "- " + _inline(token).plain)
        elif token.type in ("fence", "code_block"):
            out.append(_indented(token.content))
        elif token.type == "html_block":
            out.append(token.content.rstrip("\n"))
    return out


def _indented(content: str) -> str:
    return "\n".join("    " + line for line in content.rstrip("\n").split("\n"))


def _table(tokens: list[Token], i: int) -> tuple[Table, int]:
    end = _close(tokens, i)
    table = Table(_line(tokens[i]), [], [])
    row: list[str] = []
    row_line = table.line
    in_head = False
    for token in tokens[i:end]:
        if token.type == "thead_open":
            in_head = True
        elif token.type == "thead_close":
            in_head = False
        elif token.type == "tr_open":
            row, row_line = [], _line(token)
        elif token.type == "inline":
            row.append(_inline(token).plain.strip())
        elif token.type == "tr_close":
            if in_head:
                table.header = row
            else:
                table.rows.append((row_line, row))
    return table, end + 1


def _inline(token: Token, *, task: bool = False) -> Text:
    """Plain text of an inline token, and its bold lead when it opens with one."""
    parts: list[str] = []
    codes: list[str] = []
    lead: str | None = None
    lead_open = False
    for k, child in enumerate(token.children or []):
        kind = child.type
        if task and k == 0 and kind == "html_inline" and CHECKBOX_CLASS in child.content:
            continue  # the checkbox the task-list plugin put there
        if kind == "strong_open" and not "".join(parts).strip() and lead is None:
            lead_open, parts = True, []
        elif kind == "strong_close" and lead_open:
            lead, lead_open = "".join(parts), False
            parts = []
        elif kind in ("text", "html_inline"):
            parts.append(child.content)
        elif kind == "code_inline":
            codes.append(child.content)
            parts.append(f"`{child.content}`")
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" " if kind == "softbreak" else "\n")
        elif kind == "image":
            parts.append(child.content)
    if lead_open:  # "**" never closed: no lead after all
        lead = None
    text = "".join(parts)
    line = _line(token)
    if lead is None:
        return Text(line, text.strip(), codes=codes)
    rest = text.strip().lstrip(":\u2014\u2013-").strip()
    after = text.strip()
    glue = "" if after[:1] in (":", ",", ".", ";", ")") or not after else " "
    plain = f"{lead.strip()}{glue}{after}"
    return Text(line, plain, lead.strip().rstrip(":").strip(), rest, codes)


def _line(token: Token) -> int:
    return token.map[0] + 1 if token.map else 0


def _front_matter(content: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(content[:20_000])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}
