"""The teardown flush tries again when PostgreSQL makes it a deadlock's victim (tests/conftest.py)."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db import connection
from psycopg.errors import DeadlockDetected

from tests.conftest import FLUSH_ATTEMPTS

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_flush_chosen_as_a_deadlock_victim_is_tried_again(monkeypatch):
    real = connection.ops.execute_sql_flush
    tries: list[int] = []

    def deadlocks_twice(sql_list):
        tries.append(1)
        if len(tries) < 3:
            raise DeadlockDetected("deadlock detected")
        return real(sql_list)

    monkeypatch.setattr(connection.ops, "execute_sql_flush", deadlocks_twice)
    call_command("flush", interactive=False, verbosity=0)
    assert len(tries) == 3


def test_any_other_flush_failure_is_raised_at_once(monkeypatch):
    tries: list[int] = []

    def broken(sql_list):
        tries.append(1)
        raise ValueError("not a deadlock")

    monkeypatch.setattr(connection.ops, "execute_sql_flush", broken)
    with pytest.raises(Exception, match="couldn't be flushed"):
        call_command("flush", interactive=False, verbosity=0)
    assert len(tries) == 1
    assert FLUSH_ATTEMPTS > 1
