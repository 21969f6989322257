"""What every API router shares: the error body, strict inputs, the usual refusals, the caller.

Every error has the body ``{"detail": ...}`` (``config.api`` maps exceptions to it).
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.http import HttpRequest
from ninja import Schema
from ninja.errors import AuthenticationError
from pydantic import ConfigDict


class ErrorOut(Schema):
    detail: str


class InputSchema(Schema):
    """Inputs forbid unknown fields: a typo is a 422 naming the field, never ignored."""

    model_config = ConfigDict(extra="forbid")


READ = {403: ErrorOut, 404: ErrorOut}
WRITE = {400: ErrorOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut}


def actor(request: HttpRequest) -> User:
    """The signed-in user an endpoint acts for (api_auth has already refused anyone else)."""
    user = request.user
    if not isinstance(user, User):  # unreachable behind api_auth
        raise AuthenticationError()
    return user
