"""Each test gets its own throwaway todo database on the local PostgreSQL server."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from demo_target import create_target, drop_target

ADMIN_DSN = os.environ.get(
    "TARGET_ADMIN_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres"
)
# Small enough to stay fast, big enough for two demo accounts (ids 100 and 200).
USERS = 200
TASKS = 1200


@pytest.fixture
def new_db_name() -> Iterator[Callable[[], str]]:
    """Hand out unique database names; every database named is dropped at teardown."""
    names: list[str] = []

    def make() -> str:
        names.append(f"todo_test_{uuid.uuid4().hex[:8]}")
        return names[-1]

    yield make
    for name in names:
        drop_target(ADMIN_DSN, name)


@pytest.fixture
def target(new_db_name) -> str:
    """DSN of a fresh pre-migration target."""
    return create_target(ADMIN_DSN, new_db_name(), users=USERS, tasks=TASKS, seed=2)
