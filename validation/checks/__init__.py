"""Check families by kind, and the two questions asked of them: is this check valid, run it.

Families: ``sql`` (a query and an expectation), ``snapshot`` (row counts and
checksums against the pre-migration backup's fingerprint or the incident's
snapshot), ``http`` (a smoke request), ``login`` (a real login through the
application at APP_URL, then its tasks). Each is one module registered with
``@register(kind)``.

``run_check`` never raises: a check that cannot be evaluated (no connection,
bad params, a bug in a family) is an ``error`` result with the reason, so one
broken check cannot hide the verdict of the others.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from validation.checks import http, login, snapshot, sql
from validation.checks.base import (
    FAMILIES,
    RESULTS,
    CheckContext,
    CheckError,
    CheckOutcome,
    Result,
    evidence,
    register,
)

__all__ = [
    "FAMILIES",
    "RESULTS",
    "CheckContext",
    "CheckError",
    "CheckOutcome",
    "Result",
    "kinds",
    "register",
    "run_check",
    "validate_check",
]

_FAMILY_MODULES = (http, login, snapshot, sql)  # imported for their @register side effect
logger = logging.getLogger(__name__)


def kinds() -> list[str]:
    return sorted(FAMILIES)


def validate_check(kind: str, params: Mapping[str, Any]) -> list[str]:
    """Problems with a check (empty when fine): an unknown kind, or params its family refuses."""
    family = FAMILIES.get(kind)
    if family is None:
        return [f"no check family runs {kind!r} checks (families: {', '.join(kinds())})"]
    if not isinstance(params, Mapping):
        return [f"{kind}: 'params' must be a mapping"]
    return family.validate(params)


def run_check(
    kind: str, params: Mapping[str, Any], env: Mapping[str, str], context: CheckContext
) -> CheckOutcome:
    """Evaluate one check; every failure to evaluate it becomes an ``error`` outcome."""
    if problems := validate_check(kind, params):
        return CheckOutcome("error", "; ".join(problems), evidence("", None, None, problems))
    try:
        return FAMILIES[kind].run(params, env, context)
    except CheckError as exc:
        reason = str(exc)
        return CheckOutcome("error", reason, evidence(exc.ran, None, None, [reason]))
    except Exception as exc:  # a family's bug must not take the other checks down
        logger.exception("check family %s crashed", kind)
        reason = f"{kind} check crashed: {type(exc).__name__}: {exc}"
        return CheckOutcome("error", reason, evidence("", None, None, [reason]))
