from __future__ import annotations

import pytest

from statuspage import services
from statuspage.models import StatusPage

TODO_COMPONENTS = ["Web app", "API", "Login", "Task data"]


@pytest.fixture
def todo_page(db) -> StatusPage:
    """The migration's page (recreated after a transactional test's flush removed it)."""
    return services.ensure_page("todo-app", "Todo App", TODO_COMPONENTS)


@pytest.fixture
def sent_tasks(monkeypatch) -> list[tuple[str, int]]:
    """Tasks the status page enqueued: (name, id); no broker is involved."""
    sent: list[tuple[str, int]] = []
    from statuspage import dispatch

    monkeypatch.setattr(dispatch, "_send", lambda name, object_id: sent.append((name, object_id)))
    return sent
