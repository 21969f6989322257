"""The three global capabilities, as Django groups: commanders, responders, viewers."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser, Group

from common.compiled import Compiled

COMMANDERS = "commanders"  # may open incidents (and be incident commander)
RESPONDERS = "responders"  # may be assigned roles on incidents
VIEWERS = "viewers"  # read-only everywhere

ALL_GROUPS = (COMMANDERS, RESPONDERS, VIEWERS)

AnyUser = AbstractBaseUser | AnonymousUser


_GROUP_NAMES = Compiled[str](
    lambda user_id: Group.objects.filter(user__id=user_id).values_list("name", flat=True)
)


def user_groups(user: AnyUser) -> frozenset[str]:
    """The user's capability groups, cached on the user object for the request."""
    if not user.is_authenticated:
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_ripcord_groups", None)
    if cached is None:
        cached = frozenset(_GROUP_NAMES(user.pk))
        user._ripcord_groups = cached  # type: ignore[attr-defined]
    return cached


def is_superuser(user: AnyUser) -> bool:
    return bool(user.is_authenticated and getattr(user, "is_superuser", False))


def can_use_ripcord(user: AnyUser) -> bool:
    """Holds any capability at all; a signed-in user with none is an outsider."""
    return is_superuser(user) or bool(user_groups(user) & {COMMANDERS, RESPONDERS, VIEWERS})


def can_open_incident(user: AnyUser) -> bool:
    return is_superuser(user) or COMMANDERS in user_groups(user)


def can_see_runbook_details(user: AnyUser) -> bool:
    """Variables, secret references and step commands of a runbook: whoever may act, never viewers.

    The line ``IncidentAccess.can_see_logs`` draws inside an incident, taken at the
    level of capabilities since a runbook belongs to no incident.
    """
    return is_superuser(user) or bool(user_groups(user) & {COMMANDERS, RESPONDERS})
