"""The three global capabilities, as Django groups (DESIGN.md, "Users and permissions")."""

from __future__ import annotations

COMMANDERS = "commanders"  # may open incidents (and be incident commander)
RESPONDERS = "responders"  # may be assigned roles on incidents
VIEWERS = "viewers"  # read-only everywhere

ALL_GROUPS = (COMMANDERS, RESPONDERS, VIEWERS)
