"""API fixtures: tokens for the cast of users, and a small JSON client."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from common.models import ApiToken, hash_token, new_raw_token

BASE = "/api/v1"


def make_token(user, name: str = "cli") -> str:
    raw = new_raw_token()
    ApiToken.objects.create(user=user, name=name, key_sha256=hash_token(raw), hint=raw[:8])
    return raw


class Api:
    """The test client speaking JSON to /api/v1 with an optional bearer token."""

    def __init__(self, client: Client, token: str | None = None) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def get(self, path: str, **params: Any):
        return self.client.get(BASE + path, params, headers=self.headers)

    def post(self, path: str, body: Any = None, *, raw: str | None = None):
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self.client.post(
            BASE + path, data, content_type="application/json", headers=self.headers
        )

    def delete(self, path: str):
        return self.client.delete(BASE + path, headers=self.headers)


@pytest.fixture
def api_as():
    """``api_as(user)``: a client authenticated with a fresh token of ``user``."""

    def make(user) -> Api:
        return Api(Client(), make_token(user))

    return make


@pytest.fixture
def anonymous_api() -> Api:
    return Api(Client())
