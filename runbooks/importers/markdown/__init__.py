"""Markdown runbooks → Ripcord runbooks (``manage.py import_runbook`` and the import page).

The pipeline, one module each: ``source`` (bytes → checked text), ``tokens``
(markdown-it-py tokens, with unclosed code fences repaired), ``sections``
(tokens → a tree of headed sections holding paragraphs, lists, code and tables),
``kinds`` (what a section or a code block is), ``procedure`` (sections → steps),
``plan`` (steps → phases with budgets), ``blocks`` (triggers, safeguards,
validations, criteria, communications, post-actions, contacts, roles),
``owners`` (who does each step), ``builder`` (the typed ``RunbookSpec``),
``readiness`` (how much of the plan is executable) and ``writer`` (the folder).
Nothing imported is ever executed.
"""

from __future__ import annotations

from runbooks.importers.markdown.builder import Imported, Todo, import_markdown

__all__ = ["Imported", "Todo", "import_markdown"]
