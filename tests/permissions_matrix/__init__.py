"""The permission matrix: every endpoint x every kind of person (DESIGN.md, "Users and permissions").

This package only describes; tests/test_permissions.py makes each request for real,
checks what changed, and checks that ``incidents.access`` gives the same answers.
By area: ``pages`` and ``api`` (one row per endpoint), ``websocket``, and ``urls``
(what is exempt, and walking the URLconf); ``rows`` holds the actors and the DESIGN
table as rows, ``world`` the incident the cases start from, ``prepare`` and
``checks`` the preconditions and what each case verifies.

Reading a row: ``row(anonymous, outsider, viewer, other_responder, other_role, owner, ic)``.
"owner" is the responder holding the role that owns the endpoint's step (for
endpoints without a step: a responder holding some role on the incident);
"other_role" a responder holding another role on the same incident (the owner's
teammate, say), "other_responder" one holding none.
"""

from __future__ import annotations

from tests.permissions_matrix.api import API
from tests.permissions_matrix.comms import COMMS
from tests.permissions_matrix.drills import DRILLS
from tests.permissions_matrix.pages import HTML
from tests.permissions_matrix.rows import ACTORS, NOBODY, Actor, Outcome
from tests.permissions_matrix.statuspage import STATUS_PAGES
from tests.permissions_matrix.triggers import API as TRIGGERS_API
from tests.permissions_matrix.triggers import HTML as TRIGGERS_HTML
from tests.permissions_matrix.urls import case_id, is_exempt, iter_url_patterns, sample_path
from tests.permissions_matrix.websocket import WEBSOCKETS
from tests.permissions_matrix.world import LOG_LINE, PERMS_RUNBOOK, Case, Endpoint, World

ENDPOINTS: list[Endpoint] = (
    HTML + API + COMMS + STATUS_PAGES + DRILLS + TRIGGERS_HTML + TRIGGERS_API
)

__all__ = [
    "ACTORS",
    "ENDPOINTS",
    "LOG_LINE",
    "NOBODY",
    "PERMS_RUNBOOK",
    "WEBSOCKETS",
    "Actor",
    "Case",
    "Endpoint",
    "Outcome",
    "World",
    "case_id",
    "is_exempt",
    "iter_url_patterns",
    "sample_path",
]
