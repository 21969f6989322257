from __future__ import annotations

import pytest
from django.contrib.auth.models import User

URLS = "tests.common.urls_for_tests"


@pytest.fixture
def alice(db) -> User:
    return User.objects.create_user("alice", password="alice-password")


@pytest.fixture
def bob(db) -> User:
    return User.objects.create_user("bob", password="bob-password")
