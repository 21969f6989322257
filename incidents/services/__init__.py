"""Every write to an incident goes through these functions.

Each one runs in one transaction that locks the incident row (serialising the
incident's writers), changes state, appends a timeline entry, and publishes the
change on commit. Views, API endpoints and tasks call them; nothing else writes.
"""

from __future__ import annotations

from incidents.services.errors import ServiceError
from incidents.services.opening import open_incident
from incidents.services.phases import advance_phase, refresh_clocks
from incidents.services.resolution import resolve_incident, sign_off
from incidents.services.roles import assign_role, unassign_role
from incidents.services.steps import complete_step, reopen_step, skip_step
from incidents.services.timeline import add_note

__all__ = [
    "ServiceError",
    "add_note",
    "advance_phase",
    "assign_role",
    "complete_step",
    "open_incident",
    "refresh_clocks",
    "reopen_step",
    "resolve_incident",
    "sign_off",
    "skip_step",
    "unassign_role",
]
