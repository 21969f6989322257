"""A person at the deployed web server: signs in, makes an API token, then speaks JSON to /api/v1."""

from __future__ import annotations

import http.cookiejar
import json
import re
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
RAW_TOKEN = re.compile(r"rpc_[A-Za-z0-9_-]{20,}")


class Web:
    def __init__(self, base: str) -> None:
        self.base = base
        self.browser = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        self.token = ""

    def _form(self, path: str, fields: dict[str, str]) -> str:
        """GET a page's form, then POST it with ``fields`` and its CSRF token, as a browser."""
        with self.browser.open(self.base + path, timeout=30) as page:
            [csrf] = CSRF_FIELD.findall(page.read().decode())[:1]
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": csrf}).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")
        with self.browser.open(request, timeout=30) as answer:
            return str(answer.read().decode())

    def sign_in_and_make_token(self, username: str, password: str) -> None:
        landed = self._form("/accounts/login/", {"username": username, "password": password})
        assert "Please enter a correct username and password" not in landed, "sign-in refused"
        page = self._form("/accounts/tokens/", {"name": "deployment test"})
        [self.token] = RAW_TOKEN.findall(page)[:1]

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.base}/api/v1{path}",
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                return answer.status, answer.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()

    def get(self, path: str) -> Any:
        status, body = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {body[:500]!r}"
        return json.loads(body)

    def post(self, path: str, body: Any = None, *, expect: int = 200) -> Any:
        status, answer = self.request("POST", path, body or {})
        assert status == expect, f"POST {path}: {status} {answer[:500]!r}"
        return json.loads(answer)

    def raw(self, path: str) -> bytes:
        status, body = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {body[:500]!r}"
        return body
