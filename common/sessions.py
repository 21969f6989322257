"""Django's database sessions, with the session's read compiled once (common/compiled.py).

Every page, every htmx action and every websocket connect reads its session: the same
query each time, whose SQL Django compiled anew (~1 ms of CPU, more than the read).
Behaviour is the database backend's: the row by key while not expired, or none.
``SESSION_ENGINE = "common.sessions"`` (config/settings.py).
"""

from __future__ import annotations

import logging
from typing import Any

from django.contrib.sessions.backends.db import SessionStore as DatabaseStore
from django.contrib.sessions.models import Session
from django.core.exceptions import SuspiciousOperation
from django.utils import timezone

from common.compiled import Compiled

_LIVE_SESSION = Compiled[Session](
    lambda key, now: Session.objects.filter(session_key=key, expire_date__gt=now)[:1]
)


class SessionStore(DatabaseStore):
    def _get_session_from_db(self) -> Any:
        key = self.session_key
        try:
            found = _LIVE_SESSION.first(key, timezone.now()) if key else None
        except SuspiciousOperation as e:  # as the database backend does
            logging.getLogger(f"django.security.{e.__class__.__name__}").warning(str(e))
            found = None
        if found is None:
            self._session_key = None
        return found
