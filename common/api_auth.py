"""Authentication for the JSON API: a bearer token, or the browser's session.

Use as ``@router.get(..., auth=api_auth)`` or ``NinjaAPI(auth=api_auth)``.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.errors import AuthenticationError
from ninja.security import HttpBearer, django_auth

from common.tokens import authenticate_token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rpc_…`` with a token from the API tokens page."""

    def authenticate(self, request: HttpRequest, token: str) -> User:
        """The token's owner, or 401.

        A token that was presented but is wrong raises instead of returning None:
        falling through to the session would answer a script's bad token with a
        CSRF refusal (403) rather than "unauthorized".
        """
        user = authenticate_token(token)
        if user is None:
            raise AuthenticationError()
        request.user = user  # views and access rules read request.user whatever the way in
        return user


# Order matters: a request carrying a token is judged by it, not by a stale session.
api_auth = [TokenAuth(), django_auth]
