"""The check families: every kind of machine check a runbook may declare, one module each.

Validation families: ``sql`` (a query and an expectation), ``snapshot`` (row counts
and checksums against the pre-migration backup's fingerprint or the incident's
snapshot), ``http`` (a smoke request), ``login`` (a real login through the
application at APP_URL, then its tasks). Safeguard families (pre-flight):
``backup``, ``marker`` and ``flag`` (``safeguards``).

Each module registers its families with ``runbooks.checks.register`` when it is
imported; ``validation.apps`` imports this package when Django is ready, so the
registry is complete before any runbook is checked or any check runs.
"""

from __future__ import annotations

from validation.checks import http, login, safeguards, snapshot, sql

FAMILY_MODULES = (http, login, safeguards, snapshot, sql)
