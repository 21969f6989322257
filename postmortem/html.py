"""Show the postmortem's Markdown as HTML: exactly the subset ``render_markdown`` writes.

Blocks: ATX headings, GFM tables, "- " lists, fenced code, paragraphs. Inline: backslash
escapes, code spans, ``**strong**``, links, images and ``<br>``. Everything
else is text, HTML-escaped: no raw HTML gets through, and a link or image
whose address is not relative or http(s) keeps only its text. Rendering the
document itself (not a template of the same data) keeps the page and the
download saying the same thing.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from html import escape

from django.utils.safestring import SafeString, mark_safe
from django.utils.text import slugify

_PUNCT = frozenset(string.punctuation)
_HEADING = re.compile(r"^(#{1,6}) +(.*?)\s*$")
_FENCE = re.compile(r"^(`{3,})([^`]*)$")
_DELIMITER = re.compile(r"^\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*$")
# http(s), a path on this site, a fragment, or a relative path: never a scheme like javascript:.
_SAFE_URL = re.compile(r"^(https?://|/(?!/)|#|\.{0,2}/?[\w.-]+(/|$|\?|#))", re.IGNORECASE)


def markdown_to_html(document: str, *, images: Mapping[str, str] | None = None) -> SafeString:
    """``document`` as HTML. ``images`` maps an image address to trusted HTML shown instead."""
    lines = document.replace("\r\n", "\n").split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif fence := _FENCE.match(line):
            end = i + 1
            while end < len(lines) and not _closes(lines[end], fence[1]):
                end += 1
            out.append(_code_block(fence[2].strip(), lines[i + 1 : end]))
            i = end + 1
        elif heading := _HEADING.match(line):
            level, body = len(heading[1]), heading[2]
            anchor = slugify(_plain(body))
            out.append(f'<h{level} id="{anchor}">{_inline(body, images)}</h{level}>')
            i += 1
        elif line.startswith("|") and i + 1 < len(lines) and _DELIMITER.match(lines[i + 1]):
            end = i + 2
            while end < len(lines) and lines[end].startswith("|"):
                end += 1
            out.append(_table(lines[i], lines[i + 2 : end], images))
            i = end
        elif line.startswith("- "):
            items = []
            while i < len(lines) and lines[i].startswith("- "):
                items.append(f"<li>{_inline(lines[i][2:], images)}</li>")
                i += 1
            out.append("<ul>" + "".join(items) + "</ul>")
        else:
            para = []
            while i < len(lines) and lines[i].strip() and not _starts_block(lines, i):
                para.append(lines[i].strip())
                i += 1
            out.append(f"<p>{_inline(chr(10).join(para), images)}</p>")
    # Safe: every piece of text above went through escape(); tags are our own.
    return mark_safe("\n".join(out))


def _starts_block(lines: list[str], i: int) -> bool:
    line = lines[i]
    table = line.startswith("|") and i + 1 < len(lines) and bool(_DELIMITER.match(lines[i + 1]))
    return bool(_HEADING.match(line) or _FENCE.match(line)) or line.startswith("- ") or table


def _closes(line: str, fence: str) -> bool:
    """A closing fence: only backticks, at least as many as the opening one."""
    stripped = line.strip()
    return len(stripped) >= len(fence) and set(stripped) == {"`"}


def _code_block(info: str, lines: list[str]) -> str:
    language = f' class="language-{escape(info)}"' if info else ""
    block = f"<pre><code{language}>{escape(chr(10).join(lines))}</code></pre>"
    if info == "mermaid":
        # The page shows the chart itself as SVG; the source stays at hand, folded.
        summary = "<summary>The chart as Mermaid text</summary>"
        return f'<details class="chart-source">{summary}{block}</details>'
    return block


def _table(header: str, rows: list[str], images: Mapping[str, str] | None) -> str:
    head = "".join(f"<th>{_inline(c, images)}</th>" for c in _cells(header))
    body = "".join(
        "<tr>" + "".join(f"<td>{_inline(c, images)}</td>" for c in _cells(row)) + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cells(row: str) -> list[str]:
    """Split a table row on its unescaped pipes; ``\\|`` in a cell means a literal pipe (GFM)."""
    row = row.strip()
    row = row.removeprefix("|")
    cells, current, i = [], "", 0
    while i < len(row):
        if row[i] == "\\" and i + 1 < len(row):
            current += row[i : i + 2]
            i += 2
        elif row[i] == "|":
            cells.append(current)
            current, i = "", i + 1
        else:
            current += row[i]
            i += 1
    if current.strip():
        cells.append(current)
    return [c.strip().replace("\\|", "|") for c in cells]


def _inline(src: str, images: Mapping[str, str] | None) -> str:
    out: list[str] = []
    i = 0
    while i < len(src):
        char = src[i]
        if char == "\\" and i + 1 < len(src) and src[i + 1] in _PUNCT:
            out.append(escape(src[i + 1]))
            i += 2
        elif char == "`":
            i = _code_span(src, i, out)
        elif src.startswith("<br>", i):
            out.append("<br>")
            i += 4
        elif src.startswith("**", i) and (end := _find(src, "**", i + 2)) > i + 2:
            out.append(f"<strong>{_inline(src[i + 2 : end], images)}</strong>")
            i = end + 2
        elif (char == "[" or src.startswith("![", i)) and (link := _link(src, i)) is not None:
            label, url, after = link
            out.append(_link_html(char == "!", label, url, images))
            i = after
        else:
            out.append(escape(char))
            i += 1
    return "".join(out)


def _code_span(src: str, i: int, out: list[str]) -> int:
    run = len(src[i:]) - len(src[i:].lstrip("`"))
    fence = "`" * run
    j = i + run
    while (j := src.find(fence, j)) != -1:
        if src[j + run : j + run + 1] != "`" and src[j - 1] != "`":
            content = src[i + run : j].replace("\n", " ")
            if len(content) > 1 and content[0] == content[-1] == " " and content.strip():
                content = content[1:-1]
            out.append(f"<code>{escape(content)}</code>")
            return j + run
        j += run
    out.append(escape(fence))
    return i + run


def _find(src: str, token: str, start: int) -> int:
    """Index of the next unescaped ``token`` at or after ``start``, or -1."""
    i = start
    while i < len(src):
        if src[i] == "\\":
            i += 2
        elif src.startswith(token, i):
            return i
        else:
            i += 1
    return -1


def _link(src: str, i: int) -> tuple[str, str, int] | None:
    """``[label](url)`` or ``![label](url)`` at ``i``: label, url and the index after it."""
    start = i + (2 if src[i] == "!" else 1)
    close = _find(src, "]", start)
    if close == -1 or src[close + 1 : close + 2] != "(":
        return None
    end = src.find(")", close + 2)
    url = src[close + 2 : end] if end != -1 else ""
    if not url or any(c.isspace() or c in "()<>\"'" for c in url):
        return None
    return src[start:close], url, end + 1


def _link_html(is_image: bool, label: str, url: str, images: Mapping[str, str] | None) -> str:
    if is_image and images and url in images:
        return images[url]  # trusted HTML from the caller (the inline chart)
    safe = bool(_SAFE_URL.match(url))
    if is_image:
        alt = escape(_plain(label))
        return f'<img src="{escape(url)}" alt="{alt}">' if safe else alt
    inner = _inline(label, None)
    return f'<a href="{escape(url)}">{inner}</a>' if safe else inner


def _plain(src: str) -> str:
    """Markdown text without its escapes and markers (for ids and alt text)."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", src.replace("**", "").replace("<br>", " "))
