"""Who is asked, what they may get, and the DESIGN table as rows of outcomes."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Literal

Actor = Literal["anonymous", "outsider", "viewer", "other_responder", "other_role", "owner", "ic"]
ACTORS: tuple[Actor, ...] = (
    "anonymous",
    "outsider",
    "viewer",
    "other_responder",  # a responder holding no role on the incident
    "other_role",  # a responder holding a role on it, not the one the action belongs to
    "owner",
    "ic",
)


class Outcome(enum.Enum):
    OK = "allowed"
    HIDDEN = "allowed, with logs/variables/others' data left out"
    DENIED = "refused (403)"
    NOT_FOUND = "not found (404)"
    LOGIN = "sign in first (HTML: 302 to login, API: 401)"

    @property
    def allowed(self) -> bool:
        return self in (Outcome.OK, Outcome.HIDDEN)


L, N, D, OK, H = Outcome.LOGIN, Outcome.NOT_FOUND, Outcome.DENIED, Outcome.OK, Outcome.HIDDEN


def row(
    anonymous: Outcome,
    outsider: Outcome,
    viewer: Outcome,
    other_responder: Outcome,
    other_role: Outcome,
    owner: Outcome,
    ic: Outcome,
) -> Mapping[Actor, Outcome]:
    return {
        "anonymous": anonymous,
        "outsider": outsider,
        "viewer": viewer,
        "other_responder": other_responder,
        "other_role": other_role,
        "owner": owner,
        "ic": ic,
    }


# The DESIGN table, one row per kind of action.  anon outs view other o-role owner ic
SEE_INCIDENT = row(L, N, OK, OK, OK, OK, OK)  # incident, progress, timeline
# ...and whose step commands and log tails viewers miss:
SEE_INCIDENT_DETAILS = row(L, N, H, OK, OK, OK, OK)
SEE_LOGS = row(L, N, D, OK, OK, OK, OK)  # a run's full log
ACT_ON_STEP = row(L, N, D, D, D, OK, OK)  # tick / skip / reopen / run / cancel
MANAGE = row(L, N, D, D, D, D, OK)  # assign and unassign roles
NOTES = row(L, N, D, OK, OK, OK, OK)  # write on the timeline
OPEN_INCIDENT = row(L, D, D, D, D, D, OK)  # commanders only (the IC is one)
LIST_INCIDENTS_PAGE = row(L, D, OK, OK, OK, OK, OK)  # a capability group is needed
LIST_INCIDENTS_API = row(L, H, OK, OK, OK, OK, OK)  # outsiders get a list without this incident
RUNBOOKS = row(L, D, OK, OK, OK, OK, OK)  # any capability group
RUNBOOK_DETAILS = row(L, D, H, OK, OK, OK, OK)  # viewers miss variables, secrets, commands
OWN_TOKENS = row(L, OK, OK, OK, OK, OK, OK)  # any signed-in user, their own tokens only
OTHERS_TOKEN = row(L, N, N, N, N, N, N)  # nobody revokes someone else's token
NOBODY = row(N, N, N, N, N, N, N)  # the API root answers nothing
SIGN_OFF = row(L, N, D, D, D, OK, D)  # only the criterion's sign-off role (owner holds it here)
MEASURE = row(L, N, D, D, D, OK, OK)  # "Measure now": the IC or the sign-off role (criteria9)
# Approving a gated run: the IC unless it is his own request, holders of the gate
# role, never the requester, never viewers.
APPROVE_IC_GATE_OWNER_ASKED = row(L, N, D, D, D, D, OK)
APPROVE_OWNER_GATE_IC_ASKED = row(L, N, D, D, D, OK, D)
APPROVE_OWNER_GATE_OWNER_ASKED = row(L, N, D, D, D, D, OK)  # holding the gate is not enough
# The IC approving their own run gated on the IC, as an override, while no other
# commander exists (the matrix's world has one commander): the IC alone.
SELF_APPROVE_IC_GATE_IC_ASKED = row(L, N, D, D, D, D, OK)
PUBLIC = row(OK, OK, OK, OK, OK, OK, OK)  # the API root: where its document is, no data (ux12c)
