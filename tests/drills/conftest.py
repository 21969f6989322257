"""Fixtures for the drills, safeguards, parameters and follow-ups tests."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.api.conftest import Api, make_token


@pytest.fixture
def api_as():
    """``api_as(user)``: a JSON client with a fresh token of ``user`` (as in tests/api)."""

    def make(user) -> Api:
        return Api(Client(), make_token(user))

    return make
