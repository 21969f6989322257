"""The per-incident write lock and revision stamp."""

from __future__ import annotations

from django.db import connection, transaction

from common.compiled import Compiled
from incidents.models import Incident, Step
from incidents.services.errors import ServiceError


def _bump_sql() -> str:
    table = connection.ops.quote_name(Incident._meta.db_table)
    return f"UPDATE {table} SET revision = revision + 1 WHERE id = %s RETURNING *"


def lock_incident(incident_id: int, *, require_active: bool = True) -> Incident:
    """Lock the incident row for this transaction and bump its revision.

    Concurrent writers of one incident queue here, so "two people tick the same
    step" becomes "the second sees the first's result". The revision stamps the
    fragments rendered after commit; browsers ignore fragments older than what
    they show. One statement: the UPDATE takes the row lock (FOR NO KEY UPDATE, which
    every other caller of this waits for), and RETURNING gives the row as it stands
    under it; a tick used to pay an UPDATE and a SELECT ... FOR UPDATE. Only in a
    transaction, as select_for_update was: outside one the lock would end at once.
    """
    if not transaction.get_connection().in_atomic_block:
        raise transaction.TransactionManagementError("lock_incident needs a transaction")
    incident = next(iter(Incident.objects.raw(_bump_sql(), [incident_id])), None)
    if incident is None:
        raise Incident.DoesNotExist(f"no incident {incident_id}")
    if require_active and not incident.is_active:
        raise ServiceError("This incident is resolved; it can no longer change.", conflict=True)
    return incident


_INCIDENT_OF_STEP = Compiled[int](
    lambda step_id: Step.objects.filter(pk=step_id).values_list("incident_id", flat=True)
)


def lock_incident_of_step(step_id: int) -> Incident:
    """``lock_incident`` for the incident ``step_id`` belongs to (ServiceError if none)."""
    incident_id = next(iter(_INCIDENT_OF_STEP(step_id)), None)
    if incident_id is None:
        raise ServiceError("No such step.")
    return lock_incident(incident_id)
