"""People's notes as safe Markdown: line breaks kept, links clickable, no raw HTML.

markdown-it-py with ``html`` off (a ``<script>`` or ``<img onerror>`` in a note is
shown as the text it is), ``linkify`` (a bare https:// address becomes a link) and
``breaks`` (a line break in the note stays a line break). Its link check refuses
``javascript:``, ``vbscript:``, ``file:`` and ``data:`` addresses. Images are off
(a note must not make every open page fetch from a stranger's server), and so are
headings (a note that starts with "#123" means an issue number). Links open in a
new tab without telling the target where they came from.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from markdown_it.utils import EnvType, OptionsDict


def _parser() -> MarkdownIt:
    md = MarkdownIt(
        "commonmark", {"html": False, "linkify": True, "breaks": True, "typographer": False}
    )
    md.enable(["linkify", "strikethrough"]).disable(["image", "heading", "lheading"])

    def link_open(
        renderer: Any, tokens: Sequence[Token], idx: int, options: OptionsDict, env: EnvType
    ) -> str:
        tokens[idx].attrSet("rel", "noopener noreferrer nofollow")
        tokens[idx].attrSet("target", "_blank")
        return str(renderer.renderToken(tokens, idx, options, env))

    md.add_render_rule("link_open", link_open)
    return md


_MD = _parser()


def render_note(text: str) -> str:
    """The note as HTML that is safe to put in a page as it is."""
    return str(_MD.render(text))
