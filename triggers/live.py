"""The one place a proposal's news leaves for open pages (commanders' banner).

Called after the proposal's transaction commits (created, accepted or declined).
"""

from __future__ import annotations


def announce_proposal(proposal_id: int) -> None:
    """Tell commanders' open pages that proposal ``proposal_id`` changed (wired to common.notify)."""
