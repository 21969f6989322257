"""The websocket: who is refused, and which audience the others join."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from tests.permissions_matrix.rows import Actor

# The websocket, by route: who is refused (4403) and which audience the others join.
WEBSOCKETS: dict[str, Mapping[Actor, Literal["refused", "view", "act", "joined"]]] = {
    "ws/incidents/<int:incident_id>/": {
        "anonymous": "refused",
        "outsider": "refused",
        "viewer": "view",
        "other_responder": "act",
        "other_role": "act",
        "owner": "act",
        "ic": "act",
    },
    # Notices (common/notify.py): any signed-in user of Ripcord, about no incident in particular.
    "ws/notify/": {
        "anonymous": "refused",
        "outsider": "refused",
        "viewer": "joined",
        "other_responder": "joined",
        "other_role": "joined",
        "owner": "joined",
        "ic": "joined",
    },
}
