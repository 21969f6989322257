"""Runbook files → ``RunbookSpec``: parse, cross-check, collect scripts. No database here."""

from __future__ import annotations
