"""A small JSON client for the real server (urllib only)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any


@dataclass
class Response:
    status_code: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class ApiClient:
    base_url: str
    token: str

    def request(self, method: str, path: str, payload: dict[str, Any] | None = None) -> Response:
        data = json.dumps(payload).encode() if payload is not None else None
        req = urllib.request.Request(
            f"{self.base_url}/api/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return Response(r.status, r.read())
        except urllib.error.HTTPError as e:
            return Response(e.code, e.read())

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, payload: dict[str, Any] | None = None) -> Response:
        return self.request("POST", path, payload)
