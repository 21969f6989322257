"""Authentication for the JSON API: a bearer token, or the browser's session.

Use as ``@router.get(..., auth=api_auth)`` or ``NinjaAPI(auth=api_auth)``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import APIKeyCookie, HttpBearer

from common.text import unstorable
from common.tokens import authenticate_token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rpc_…`` with a token from the API tokens page."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        """The token's owner, or 401.

        A token that was presented but is wrong raises instead of returning None:
        falling through to the session would answer a script's bad token with a
        CSRF refusal (403) rather than "unauthorized".
        """
        user = authenticate_token(token) if unstorable(token) is None else None
        if user is None:
            raise AuthenticationError()
        request.user = user  # views and access rules read request.user whatever the way in
        return user


class SessionAuth(APIKeyCookie):
    """The signed-in browser session, with Django's CSRF check on unsafe methods.

    Ninja's own ``django_auth`` checks CSRF before it looks at the session, so a
    caller with no session at all got "CSRF check Failed" (403) where the API
    documents 401. Here a request without a signed-in session is simply not
    authenticated by this method (401 once every method declined); CSRF is
    checked only when the session would authenticate it, which is where a forged
    cross-site request would carry its power.
    """

    param_name = settings.SESSION_COOKIE_NAME

    def _get_key(self, request: HttpRequest) -> str | None:
        if not request.user.is_authenticated:
            return None
        return super()._get_key(request)  # raises 403 "CSRF check Failed" on a forgery

    def authenticate(self, request: HttpRequest, key: str | None) -> Any:
        return request.user if request.user.is_authenticated else None


# Order matters: a request carrying a token is judged by it, not by a stale session.
api_auth = [TokenAuth(), SessionAuth()]
