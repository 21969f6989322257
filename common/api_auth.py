"""Authentication for the JSON API: a bearer token, or the browser's session.

Use as ``@router.get(..., auth=api_auth)`` or ``NinjaAPI(auth=api_auth)``.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja.security import HttpBearer, django_auth

from common.tokens import authenticate_token


class TokenAuth(HttpBearer):
    """``Authorization: Bearer rpc_…`` with a token from the API tokens page."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = authenticate_token(token)
        if user is not None:
            # Views and access rules read request.user whatever the way in.
            request.user = user
        return user


# Order matters: a request carrying a token is judged by it, not by a stale session.
api_auth = [TokenAuth(), django_auth]
